package org.peft4j.adapters.core;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.linalg.Bf16;
import org.peft4j.adapters.linalg.Gemm;

/**
 * A frozen linear layer {@code y = x W0 (+ b)} with at most one adapter. W0 and b never get gradients: backward
 * computes only {@code dx = dy W0^T} plus the adapter's part, and the adapter's own tensor gradients.
 *
 * <p>Output and input-gradient buffers are owned by this layer and reused: a later call overwrites them.
 *
 * <p>W0 may be stored in BFLOAT16 (half the memory): then {@code x W0} and {@code dy W0^T} round their fp32 input to
 * bf16 and accumulate in fp32, as torch's bf16 linears do, and everything else (bias, adapter, outputs, gradients)
 * stays fp32 ({@link #computeType()}).
 */
public final class TargetLinear {
    private final String path;
    private final INDArray w0;
    private final INDArray bias;
    private final int dIn;
    private final int dOut;
    private final DataType computeType;
    private final Scratch scratch;
    private Scratch backwardScratch;
    private String dxKey = "dx";
    private Scratch forwardScratch;
    private String yKey = "y";
    private Scratch inferenceScratch;
    private String inferenceKey;
    private Adapter adapter;
    private boolean merged;
    private INDArray unmergedW0;
    private double dropout;
    private long dropoutSeed;
    private boolean droppedForward;

    /**
     * @param path module path, e.g. {@code model.layers.3.self_attn.q_proj}
     * @param w0 frozen weight, d_in x d_out (the transpose of a Hugging Face {@code nn.Linear} weight)
     * @param bias frozen bias (1 x d_out) or null
     */
    public TargetLinear(String path, INDArray w0, INDArray bias) {
        this(path, w0, bias, (int) w0.rows(), (int) w0.columns(), computeType(w0));
    }

    private TargetLinear(String path, INDArray w0, INDArray bias, int dIn, int dOut, DataType computeType) {
        this.path = path;
        this.w0 = w0;
        this.bias = bias;
        this.dIn = dIn;
        this.dOut = dOut;
        this.computeType = computeType;
        this.scratch = new Scratch(computeType);
        this.backwardScratch = scratch;
        this.forwardScratch = scratch;
    }

    /**
     * A layer's name and shape without its weight: what the Spark driver puts blank adapters on to hold their state
     * (it never loads the base model). Attaching skips the adapter's base-weight hook; computing throws.
     */
    public static TargetLinear shapeOnly(String path, int dIn, int dOut, DataType computeType) {
        return new TargetLinear(path, null, null, dIn, dOut, computeType);
    }

    /** Whether this layer has its weight (false for {@link #shapeOnly} layers). */
    public boolean hasWeight() {
        return w0 != null;
    }

    /**
     * Writes forward outputs into {@code shared} under {@code key}: for a layer whose output is consumed at once
     * (o_proj, down_proj add theirs into the residual stream) and need not live until backward.
     */
    public void shareForwardBuffer(Scratch shared, String key) {
        this.forwardScratch = shared;
        this.yKey = key;
    }

    /**
     * Writes the outputs of forward passes that do not train into {@code shared} under {@code key}: nothing reads them
     * once the layer that made them is done, so every layer of a model can use the same buffer, and a forward-only pass
     * (evaluation, scoring, generation) holds one layer's outputs instead of one per layer. Training passes keep
     * writing where {@link #shareForwardBuffer} says (their outputs may be read in backward).
     */
    public void shareInferenceBuffer(Scratch shared, String key) {
        this.inferenceScratch = shared;
        this.inferenceKey = key;
    }

    /** Bytes of this layer's own work buffers (not those it shares). */
    public long bufferBytes() {
        return scratch.bytes();
    }

    /** Whether a training forward needs its input x kept untouched until backward (for the adapter). */
    public boolean needsInputKept() {
        return adapter != null && !merged && adapter.keepsInput();
    }

    /**
     * Takes the input-gradient buffer from {@code shared} under {@code key} instead of owning one. A model whose layers
     * run backward one after another shares these across layers: the buffer is dead once the layer below has read it.
     */
    public void shareBackwardBuffer(Scratch shared, String key) {
        this.backwardScratch = shared;
        this.dxKey = key;
    }

    public String path() {
        return path;
    }

    /** W0 as stored (FLOAT, DOUBLE, or BFLOAT16); see {@link #computeType()}. */
    public INDArray weight() {
        return w0;
    }

    /** The type activations, gradients and adapter tensors of this layer have: W0's, or FLOAT for a bf16 W0. */
    public DataType computeType() {
        return computeType;
    }

    static DataType computeType(INDArray w0) {
        return w0.dataType() == DataType.BFLOAT16 ? DataType.FLOAT : w0.dataType();
    }

    /** W0 in {@link #computeType()}: W0 itself, or for a bf16 W0 a new array of its exact fp32 values. */
    public INDArray weightForCompute() {
        return w0.dataType() == DataType.BFLOAT16 ? w0.castTo(DataType.FLOAT) : w0;
    }

    /**
     * {@code f} of {@link #weightForCompute()}; a bf16 W0's fp32 copy is freed as soon as {@code f} returns (left to
     * the garbage collector, a 7B model's copies piled up to gigabytes of native memory). {@code f} must not keep it.
     */
    public <T> T withWeightForCompute(java.util.function.Function<INDArray, T> f) {
        INDArray w = weightForCompute();
        try {
            return f.apply(w);
        } finally {
            if (w != w0) {
                w.close();
            }
        }
    }

    /**
     * {@code out = in W0} or {@code in W0^T}; with a bf16 W0, {@code in} rounded to bf16 first, in a buffer of the
     * (model-wide, when shared) backward scratch: it is dead as soon as the product is made.
     */
    private void baseProduct(INDArray out, INDArray in, boolean transposeW0) {
        if (w0.dataType() != DataType.BFLOAT16) {
            Gemm.set(out, in, false, w0, transposeW0);
            return;
        }
        INDArray rounded = backwardScratch.get("bf16.in." + in.columns(), in.rows(), in.columns(), DataType.BFLOAT16);
        Bf16.round(in, rounded);
        Gemm.set(out, rounded, false, w0, transposeW0);
    }

    public int dIn() {
        return dIn;
    }

    public int dOut() {
        return dOut;
    }

    public Adapter adapter() {
        return adapter;
    }

    public void attach(Adapter a) {
        if (adapter != null) {
            throw new IllegalStateException(
                    path + " already has a " + adapter.getClass().getSimpleName());
        }
        if (a.dIn() != dIn() || a.dOut() != dOut()) {
            throw new IllegalArgumentException(
                    path + ": adapter is " + a.dIn() + " x " + a.dOut() + ", expected " + dIn() + " x " + dOut());
        }
        if (w0 != null) {
            a.onAttach(w0);
        }
        adapter = a;
    }

    /** Removes the adapter (unmerging first if needed) and restores W0 as it was before attach. */
    public Adapter detach() {
        if (merged) {
            unmerge();
        }
        Adapter a = adapter;
        if (a != null && w0 != null) {
            a.onDetach(w0);
        }
        adapter = null;
        return a;
    }

    /**
     * y = x W0 (+ b) (+ s delta(x) unless merged), in a buffer of this layer or, outside training, the one
     * {@link #shareInferenceBuffer} names: valid until the next forward that writes the same buffer.
     */
    public INDArray forward(INDArray x, boolean train) {
        INDArray y = train || inferenceScratch == null
                ? forwardScratch.get(yKey, x.rows(), dOut())
                : inferenceScratch.get(inferenceKey, x.rows(), dOut());
        baseProduct(y, x, false);
        if (bias != null) {
            y.addiRowVector(bias);
        }
        if (adapter != null && !merged) {
            droppedForward = train && dropout > 0;
            adapter.forward(droppedForward ? dropped(x) : x, y, train);
        }
        return y;
    }

    /**
     * Dropout on the adapter path's input while training (PEFT's lora_dropout), the same for every method:
     * {@code p} the rate, and per step a seed the mask is drawn from (so it is the same wherever that step runs,
     * and backward draws it again instead of keeping it).
     */
    public void setDropout(double p) {
        this.dropout = p;
    }

    /** The seed of the next training forward's dropout mask (the module path is mixed in). */
    public void setDropoutSeed(long seed) {
        this.dropoutSeed = seed ^ (path.hashCode() * 0x9E3779B97F4A7C15L);
    }

    /**
     * x with dropout applied, in a buffer of this layer (the adapter may keep it until backward) or, for an adapter
     * that does not keep its input (LaMDA), in a buffer shared by all layers.
     */
    private INDArray dropped(INDArray x) {
        Scratch s = adapter.keepsInput() ? scratch : backwardScratch;
        INDArray out = s.get(adapter.keepsInput() ? "xdrop" : "adapter.xdrop." + dIn(), x.rows(), dIn());
        Dropout.apply(x, out, dropout, dropoutSeed, false);
        return out;
    }

    /**
     * dx = dy W0^T + the adapter's input gradient; accumulates the adapter's tensor gradients.
     *
     * @param needDx false for a first layer whose input gradient nobody uses: then returns null
     */
    public INDArray backward(INDArray dy, boolean needDx) {
        if (merged) {
            throw new IllegalStateException(path + ": cannot train while the adapter is merged");
        }
        INDArray dx = null;
        if (needDx) {
            dx = backwardScratch.get(dxKey, dy.rows(), dIn());
            baseProduct(dx, dy, true);
        }
        if (adapter != null && droppedForward && dx != null) {
            // The adapter's input was dropout(x): its gradient passes through the same mask, drawn again.
            INDArray dxa = backwardScratch
                    .get("adapter.dxdrop." + dIn(), dy.rows(), dIn())
                    .assign(0);
            adapter.backward(dy, dxa);
            Dropout.apply(dxa, dx, dropout, dropoutSeed, true);
        } else if (adapter != null) {
            adapter.backward(dy, dx);
        }
        return dx;
    }

    /** W0 += s dW: the adapter's update is folded into the weight and the adapter path is skipped. */
    public void merge() {
        if (adapter == null || merged) {
            return;
        }
        if (adapter.deltaDependsOnBase() || w0.dataType() == DataType.BFLOAT16) {
            unmergedW0 = w0.dup();
        }
        if (w0.dataType() == DataType.BFLOAT16) {
            withWeightForCompute(w -> {
                Bf16.round(w.addi(adapter.scaledDeltaWeight()), w0);
                return null;
            });
        } else {
            w0.addi(adapter.scaledDeltaWeight());
        }
        merged = true;
    }

    /**
     * Restores W0 and re-enables the adapter path: W0 -= s dW (up to rounding), or, when dW depends on W0 (Neat) or
     * W0 is bf16 (whose rounding would not undo), the copy kept at merge time, exactly.
     */
    public void unmerge() {
        if (!merged) {
            return;
        }
        if (unmergedW0 != null) {
            w0.assign(unmergedW0); // exact: f(W0) must see the very same W0 again
        } else {
            w0.subi(adapter.scaledDeltaWeight());
        }
        unmergedW0 = null;
        merged = false;
    }
}
