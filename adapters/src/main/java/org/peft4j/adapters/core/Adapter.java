package org.peft4j.adapters.core;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The trainable part of one target linear layer {@code y = x W0 (+ b) + s * delta(x)}, with row-vector inputs:
 * x is (tokens x d_in), W0 is (d_in x d_out).
 *
 * <p>Each implementation has an explicit forward and backward pair on ND4J. Backward returns gradients for trainable
 * tensors only: frozen tensors never get a gradient buffer. What forward keeps for backward is the method's memory
 * cost, reported by {@link #keptBytes()}.
 */
public interface Adapter {

    int dIn();

    int dOut();

    int rank();

    /** The scaling s applied to delta(x). */
    double scaling();

    /** Every tensor this adapter persists, frozen or trainable, in a stable order. */
    List<AdapterParam> params();

    /**
     * Adds {@code s * delta(x)} to {@code y}. With {@code train} true it keeps what {@link #backward} needs; the
     * caller must leave {@code x} untouched until then (some methods keep a reference, not a copy).
     */
    void forward(INDArray x, INDArray y, boolean train);

    /**
     * Accumulates gradients of trainable tensors for upstream gradient {@code dy}, and adds this adapter's
     * contribution to {@code dx} when it is not null.
     */
    void backward(INDArray dy, INDArray dx);

    /** The weight update {@code s * dW} (d_in x d_out) this adapter adds to W0, for merging. */
    INDArray scaledDeltaWeight();

    /**
     * The update as rank-r factors, {@code s dW = a b}, relative to the base weight as it was loaded (before
     * {@link #onAttach}): what {@code export} writes as a PEFT LoRA. Every method's update is a product of rank r;
     * where it is not exactly (LoRA's dense product-aggregation residual), this fails saying why.
     */
    LoraForm.Factors loraFactors();

    /**
     * True when dW is computed from W0 itself (Neat): merging then keeps a copy of W0 so that unmerge restores it
     * exactly: subtracting a recomputed f(W0 + s dW) would be wrong, and even rounding is amplified by deep sin MLPs.
     */
    default boolean deltaDependsOnBase() {
        return false;
    }

    /**
     * Whether backward reads the input x passed to forward (so the caller must keep it). LoRA and Neat do (their
     * first factor's gradient is x^T g); LaMDA does not: it keeps its own r-wide copy of x A, so a model may reuse
     * the full-width input buffer as soon as forward returns. That is where LaMDA's activation memory is saved.
     */
    default boolean keepsInput() {
        return true;
    }

    /** Bytes held from the last training forward for the backward pass (activations, not parameters). */
    long keptBytes();

    /** Called once when the adapter is attached to W0, e.g. to subtract a residual that the adapter re-adds. */
    default void onAttach(INDArray w0) {}

    /** Undoes {@link #onAttach}. */
    default void onDetach(INDArray w0) {}

    /**
     * Tells the adapter how many steps the run has, for a freeze schedule that depends on it (LaMDA's PMB freezing).
     * Without a call nothing ever freezes.
     */
    default void scheduleFreezing(long totalSteps) {}

    /** Informs the adapter of the global step about to run (freeze schedules follow it). */
    default void onStep(long globalStep) {}

    default long trainableCount() {
        long n = 0;
        for (AdapterParam p : params()) {
            n += p.trainableCount();
        }
        return n;
    }
}
