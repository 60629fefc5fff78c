package org.peft4j.adapters.io;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The files of one model directory, read by name and byte range. This is the seam that lets the same loader read a
 * local folder ({@link LocalModelFiles}) or any Hadoop file system (the job module's implementation): the adapter
 * library itself never depends on Hadoop.
 */
public interface ModelFiles {

    /** A full path for messages, e.g. {@code hdfs://nn/models/llama/model.safetensors}. */
    String describe(String name);

    boolean exists(String name) throws IOException;

    long size(String name) throws IOException;

    /** Fills {@code dst} from its position to its limit with the bytes of {@code name} starting at {@code offset}. */
    void read(String name, long offset, ByteBuffer dst) throws IOException;

    default byte[] readAll(String name) throws IOException {
        long n = size(name);
        if (n > Integer.MAX_VALUE - 8) {
            throw new IOException(describe(name) + ": " + n + " bytes is too large to read whole");
        }
        ByteBuffer b = ByteBuffer.allocate((int) n);
        read(name, 0, b);
        return b.array();
    }
}
