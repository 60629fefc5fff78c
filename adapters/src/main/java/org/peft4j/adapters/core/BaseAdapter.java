package org.peft4j.adapters.core;

import org.nd4j.linalg.api.buffer.DataType;

/** What every adapter has: its layer's shape, its rank and scaling, and work buffers reused across steps. */
public abstract class BaseAdapter implements Adapter {
    private final int dIn;
    private final int dOut;
    private final int rank;
    /** The scaling s of the update. */
    protected final double scaling;
    /** Work buffers of forward and backward. */
    protected final Scratch scratch;

    protected BaseAdapter(int dIn, int dOut, int rank, double scaling, DataType type) {
        this.dIn = dIn;
        this.dOut = dOut;
        this.rank = rank;
        this.scaling = scaling;
        this.scratch = new Scratch(type);
    }

    @Override
    public final int dIn() {
        return dIn;
    }

    @Override
    public final int dOut() {
        return dOut;
    }

    @Override
    public final int rank() {
        return rank;
    }

    @Override
    public final double scaling() {
        return scaling;
    }
}
