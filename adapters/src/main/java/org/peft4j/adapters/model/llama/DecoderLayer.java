package org.peft4j.adapters.model.llama;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.core.Scratch;
import org.peft4j.adapters.core.TargetLinear;

/**
 * One pre-norm block: {@code x2 = x + attn(norm1(x))}, {@code out = x2 + mlp(norm2(x2))}. Kept for backward: x, x2,
 * q, k, v, gate and up; the normed inputs, the attention output and the MLP product only when an adapter reads its
 * input in backward (LoRA, Neat), not for LaMDA.
 */
final class DecoderLayer {
    /** The seven linears of a layer, in the order {@link LlamaModel#linears()} lists them. */
    static final String[] MODULES = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};

    private final RmsNorm norm1;
    private final RmsNorm norm2;
    private final Attention attention;
    private final SwiGluMlp mlp;
    private final List<TargetLinear> linears;
    private final Scratch scratch;
    private final Scratch shared;
    /** Where a forward-only pass writes this layer's output: one of two shared buffers, never the layer's input's. */
    private final String inferenceOut;

    /** @param shared buffers of the backward pass (and transient forward ones), shared by every layer */
    DecoderLayer(int index, LlamaConfig c, LlamaWeights.Layer w, Rotary rotary, Scratch shared) {
        TargetLinear[] t = new TargetLinear[7];
        String[] names = MODULES;
        for (int i = 0; i < names.length; i++) {
            t[i] = new TargetLinear(
                    LlamaWeights.modulePath(index, names[i]),
                    w.linears().get(names[i]),
                    w.biases().get(names[i]));
            t[i].shareBackwardBuffer(shared, names[i] + ".dx");
        }
        // o_proj and down_proj outputs are added into the residual stream at once: nothing reads them later. The
        // others are read in backward, so each layer keeps its own, except in passes that do not train.
        t[3].shareForwardBuffer(shared, "o_proj.y");
        t[6].shareForwardBuffer(shared, "down_proj.y");
        for (int i : new int[] {0, 1, 2, 4, 5}) {
            t[i].shareInferenceBuffer(shared, names[i] + ".y");
        }
        this.linears = List.of(t);
        this.norm1 = new RmsNorm(w.inputNorm(), c.rmsNormEps(), shared, "norm1");
        this.norm2 = new RmsNorm(w.postAttentionNorm(), c.rmsNormEps(), shared, "norm2");
        this.attention = new Attention(index, c, t[0], t[1], t[2], t[3], rotary, shared);
        this.mlp = new SwiGluMlp(t[4], t[5], t[6], shared);
        this.scratch = new Scratch(w.inputNorm().dataType());
        this.shared = shared;
        this.inferenceOut = "layer.out." + index % 2;
    }

    List<TargetLinear> linears() {
        return linears;
    }

    boolean hasAdapter() {
        return linears.stream().anyMatch(l -> l.adapter() != null);
    }

    /**
     * x must stay untouched until backward. The result is this layer's own buffer in a training pass; otherwise
     * nothing is kept, and x2 and the result go to buffers every layer shares (the result alternating between two,
     * so that it never overwrites the layer's input, the layer below's result).
     */
    INDArray forward(INDArray x, Pass p) {
        boolean train = p.train();
        INDArray a = attention.forward(norm1.forward(x, train && attention.needsInputKept()), p);
        INDArray x2 = train ? scratch.get("x2", x.rows(), x.columns()) : shared.get("layer.x2", x.rows(), x.columns());
        x.add(a, x2);
        INDArray m = mlp.forward(norm2.forward(x2, train && mlp.needsInputKept()), train);
        INDArray out =
                train ? scratch.get("out", x.rows(), x.columns()) : shared.get(inferenceOut, x.rows(), x.columns());
        return x2.add(m, out);
    }

    /** Bytes of this layer's own work buffers (not the model-wide shared ones). */
    long bufferBytes() {
        long n = scratch.bytes()
                + norm1.bufferBytes()
                + norm2.bufferBytes()
                + attention.bufferBytes()
                + mlp.bufferBytes();
        for (TargetLinear l : linears) {
            n += l.bufferBytes();
        }
        return n;
    }

    /** @return d loss / d x, or null when {@code needDx} is false (nothing below needs it) */
    INDArray backward(INDArray dOut, boolean needDx) {
        INDArray dx2 = norm2.backward(mlp.backward(dOut, true)).addi(dOut);
        INDArray dh1 = attention.backward(dx2, needDx);
        return needDx ? norm1.backward(dh1).addi(dx2) : null;
    }
}
