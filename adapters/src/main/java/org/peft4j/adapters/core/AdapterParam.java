package org.peft4j.adapters.core;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * One named adapter tensor and its freezing state: the single declaration that counting, the optimizer,
 * averaging and checkpointing read (like PEFT's {@code adapter_layer_names}).
 *
 * <p>A tensor is either always frozen (LaMDA's A), always trainable, or frozen row by row from the top
 * (LaMDA's B): rows {@code [0, frozenRows)} are frozen, rows {@code [frozenRows, rows)} train. A tensor with
 * nothing left to train holds no gradient buffer.
 */
public final class AdapterParam {
    private final String name;
    private final INDArray value;
    private final boolean alwaysFrozen;
    private int frozenRows;
    private INDArray grad;

    private AdapterParam(String name, INDArray value, boolean alwaysFrozen) {
        if (value.rank() != 2) {
            throw new IllegalArgumentException("adapter tensor " + name + " must be a matrix, found shape "
                    + java.util.Arrays.toString(value.shape()));
        }
        this.name = name;
        this.value = value;
        this.alwaysFrozen = alwaysFrozen;
    }

    public static AdapterParam trainable(String name, INDArray value) {
        return new AdapterParam(name, value, false);
    }

    public static AdapterParam frozen(String name, INDArray value) {
        return new AdapterParam(name, value, true);
    }

    /** The adapter-local name, e.g. {@code lamda_S}; checkpoints prefix it with the module path. */
    public String name() {
        return name;
    }

    public INDArray value() {
        return value;
    }

    public boolean alwaysFrozen() {
        return alwaysFrozen;
    }

    public int frozenRows() {
        return alwaysFrozen ? rows() : frozenRows;
    }

    public int rows() {
        return (int) value.rows();
    }

    public int columns() {
        return (int) value.columns();
    }

    public boolean isTrainable() {
        return frozenRows() < rows();
    }

    public long trainableCount() {
        return (long) (rows() - frozenRows()) * columns();
    }

    /**
     * Freezes the leading {@code n} rows (never unfreezes: n below the current count is ignored). Once every row is
     * frozen the gradient buffer is released.
     */
    public void freezeLeadingRows(int n) {
        if (alwaysFrozen) {
            return;
        }
        frozenRows = Math.max(frozenRows, Math.min(n, rows()));
        if (!isTrainable()) {
            grad = null;
        }
    }

    /**
     * Sets the frozen leading rows to exactly {@code n}, down as well as up: a freeze schedule is a function of the
     * global step, and a worker may replay an earlier step (an executor taking over a lost executor's shard trains
     * that shard's steps after having trained its own). Once every row is frozen the gradient buffer is released.
     */
    public void setFrozenRows(int n) {
        if (alwaysFrozen) {
            return;
        }
        frozenRows = Math.max(0, Math.min(n, rows()));
        if (!isTrainable()) {
            grad = null;
        }
    }

    /** Rows that still train, as a view of {@code t} (value, gradient or an optimizer moment of this shape). */
    public INDArray trainableRowsOf(INDArray t) {
        int f = frozenRows();
        return f == 0 ? t : t.get(NDArrayIndex.interval(f, rows()), NDArrayIndex.all());
    }

    /** The gradient buffer (same shape as the value; frozen rows stay zero), allocated on first use. */
    public INDArray grad() {
        if (!isTrainable()) {
            throw new IllegalStateException("adapter tensor " + name + " is frozen and has no gradient");
        }
        if (grad == null) {
            grad = Nd4j.zeros(value.dataType(), value.rows(), value.columns());
        }
        return grad;
    }

    /** True when a gradient buffer exists (for tests: frozen tensors must never get one). */
    public boolean hasGradBuffer() {
        return grad != null;
    }

    public void zeroGrad() {
        if (grad != null) {
            grad.assign(0);
        }
    }
}
