package org.peft4j.adapters.io;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A model directory packaged inside a jar (the built-in models): each file is read from the class path once and kept
 * in memory, so the same loader that reads local and Hadoop directories reads it, on the driver and on every
 * executor, with no file to ship.
 */
public final class ClasspathModelFiles implements ModelFiles {
    private final String name;
    private final String root;
    private final Map<String, byte[]> cache = new ConcurrentHashMap<>();

    /**
     * @param name how messages call the directory, e.g. {@code builtin:arith-llama}
     * @param root the resource folder, e.g. {@code /org/peft4j/builtin/arith-llama}
     */
    public ClasspathModelFiles(String name, String root) {
        this.name = name;
        this.root = root.endsWith("/") ? root : root + "/";
    }

    @Override
    public String describe(String file) {
        return name + "/" + file;
    }

    @Override
    public boolean exists(String file) {
        return ClasspathModelFiles.class.getResource(root + file) != null;
    }

    @Override
    public long size(String file) throws IOException {
        return bytes(file).length;
    }

    @Override
    public void read(String file, long offset, ByteBuffer dst) throws IOException {
        byte[] b = bytes(file);
        if (offset < 0 || offset + dst.remaining() > b.length) {
            throw new IOException(
                    describe(file) + ": " + b.length + " bytes, asked for " + dst.remaining() + " from byte " + offset);
        }
        dst.put(b, (int) offset, dst.remaining());
    }

    private byte[] bytes(String file) throws IOException {
        byte[] b = cache.get(file);
        if (b != null) {
            return b;
        }
        try (InputStream in = ClasspathModelFiles.class.getResourceAsStream(root + file)) {
            if (in == null) {
                throw new FileNotFoundException(describe(file) + ": not found");
            }
            b = in.readAllBytes();
        }
        cache.put(file, b);
        return b;
    }
}
