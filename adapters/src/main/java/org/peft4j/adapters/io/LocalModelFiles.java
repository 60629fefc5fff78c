package org.peft4j.adapters.io;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** A model directory on the local file system. */
public final class LocalModelFiles implements ModelFiles {
    private final Path dir;

    public LocalModelFiles(Path dir) {
        this.dir = dir;
    }

    @Override
    public String describe(String name) {
        return dir.resolve(name).toString();
    }

    @Override
    public boolean exists(String name) {
        return Files.isRegularFile(dir.resolve(name));
    }

    @Override
    public long size(String name) throws IOException {
        return Files.size(dir.resolve(name));
    }

    @Override
    public void read(String name, long offset, ByteBuffer dst) throws IOException {
        try (FileChannel ch = FileChannel.open(dir.resolve(name), StandardOpenOption.READ)) {
            long pos = offset;
            while (dst.hasRemaining()) {
                int n = ch.read(dst, pos);
                if (n < 0) {
                    throw new EOFException(
                            describe(name) + ": ends at byte " + pos + ", expected " + dst.remaining() + " more");
                }
                pos += n;
            }
        }
    }
}
