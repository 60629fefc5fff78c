package org.peft4j.job.fs;

import java.io.IOException;
import java.nio.ByteBuffer;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.peft4j.adapters.io.ModelFiles;

/** A model directory on any Hadoop file system (hdfs://, s3a://, ...), read with positioned reads. */
public final class HadoopModelFiles implements ModelFiles {
    private final FileSystem fs;
    private final Path dir;

    public HadoopModelFiles(FileSystem fs, Path dir) {
        this.fs = fs;
        this.dir = dir;
    }

    @Override
    public String describe(String name) {
        return name.equals(".") ? dir.toString() : new Path(dir, name).toString();
    }

    @Override
    public boolean exists(String name) throws IOException {
        Path p = new Path(dir, name);
        return fs.exists(p) && fs.getFileStatus(p).isFile();
    }

    @Override
    public long size(String name) throws IOException {
        return fs.getFileStatus(new Path(dir, name)).getLen();
    }

    @Override
    public void read(String name, long offset, ByteBuffer dst) throws IOException {
        try (FSDataInputStream in = fs.open(new Path(dir, name))) {
            if (dst.hasArray()) {
                in.readFully(offset, dst.array(), dst.arrayOffset() + dst.position(), dst.remaining());
                dst.position(dst.limit());
            } else {
                byte[] b = new byte[dst.remaining()];
                in.readFully(offset, b, 0, b.length);
                dst.put(b);
            }
        }
    }
}
