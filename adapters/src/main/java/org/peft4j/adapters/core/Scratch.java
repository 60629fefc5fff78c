package org.peft4j.adapters.core;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.linalg.AlignedArrays;

/**
 * Named work buffers reused across steps of the same shape. Allocation is the slow path on ND4J (a 4 MB
 * allocation took 4-12 ms, FINDINGS.md), so every forward/backward asks here instead of allocating.
 */
public final class Scratch {
    private final DataType dataType;
    private final Map<String, INDArray> buffers = new HashMap<>();

    public Scratch(DataType dataType) {
        this.dataType = dataType;
    }

    /** A c-order {@code rows x cols} buffer named {@code key}; its contents are whatever the last user left. */
    public INDArray get(String key, long rows, long cols) {
        return get(key, rows, cols, dataType);
    }

    /** As {@link #get(String, long, long)}, of another element type (a bf16 copy of an input, say). */
    public INDArray get(String key, long rows, long cols, DataType type) {
        INDArray b = buffers.get(key);
        if (!fits(b, rows, cols, type)) {
            b = AlignedArrays.create(type, rows, cols);
            buffers.put(key, b);
        }
        return b;
    }

    /**
     * As {@link #get(String, long, long, DataType)}, {@code fill} writing its contents whenever the buffer is made:
     * for a constant (a mask) that several users share.
     */
    public INDArray constant(String key, long rows, long cols, DataType type, Consumer<INDArray> fill) {
        INDArray b = buffers.get(key);
        if (!fits(b, rows, cols, type)) {
            b = get(key, rows, cols, type);
            fill.accept(b);
        }
        return b;
    }

    private static boolean fits(INDArray b, long rows, long cols, DataType type) {
        return b != null && b.rows() == rows && b.columns() == cols && b.dataType() == type;
    }

    public long bytes() {
        long n = 0;
        for (INDArray b : buffers.values()) {
            n += b.length() * b.dataType().width();
        }
        return n;
    }
}
