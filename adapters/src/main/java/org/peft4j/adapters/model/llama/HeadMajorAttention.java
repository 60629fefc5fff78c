package org.peft4j.adapters.model.llama;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.core.Scratch;
import org.peft4j.adapters.linalg.HeadProducts;

/**
 * One layer's attention products for a bf16 model's passes without a KV cache (training, scoring), in bf16 on
 * head-major operands ({@link HeadProducts}), as torch's bf16 attention multiplies: q, k, v and dO are rounded to
 * bf16 as they are copied head-major, the scores are made in fp32 (products accumulate in fp32, then the scale and the
 * causal and padding masks), and their softmax, computed in fp32, is written in bf16: the probabilities P that the
 * products read. Backward writes dP = dO V^T in bf16, takes the softmax backward on bf16 P and dP (fp32 inside) to
 * a bf16 dS, and makes dQ = scale dS K, dK = scale dS^T Q, dV = P^T dO in fp32. A key/value head's gradient sums over
 * the query heads of its group: those heads' rows are adjacent head-major, so one product per group makes the sum.
 *
 * <p>A training forward keeps each sequence's bf16 P for backward when a layer's P take at most {@link #KEEP_BYTES}
 * (33.5 MB at the bench shape: batch 4, 16 heads, T = 512); above that backward recomputes them, to the same bits.
 */
final class HeadMajorAttention {
    /** The most bytes of bf16 probabilities a layer keeps from forward to backward. */
    static final long KEEP_BYTES = 64L << 20;

    /** {@link #KEEP_BYTES}, but for tests that compare keeping with recomputing. */
    private static volatile long keepBytes = KEEP_BYTES;

    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final double scale;
    private final Scratch shared;
    private final Scratch layer;
    private boolean kept;

    /**
     * @param shared the model-wide buffers, dead between one layer's use and the next
     * @param layer this layer's own buffers, where kept probabilities live until backward
     */
    HeadMajorAttention(int heads, int kvHeads, int headDim, double scale, Scratch shared, Scratch layer) {
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.scale = scale;
        this.shared = shared;
        this.layer = layer;
    }

    /** Whether a training pass of {@code rows} sequences of {@code len} tokens keeps its probabilities. */
    boolean keeps(int rows, int len) {
        return (long) rows * heads * len * len * DataType.BFLOAT16.width() <= keepBytes;
    }

    /** Sets the bytes a layer may keep (0: recompute always) and returns the previous limit: for tests. */
    static long keepBytes(long bytes) {
        long before = keepBytes;
        keepBytes = bytes;
        return before;
    }

    /**
     * out (tokens-first, rows*T x heads*headDim) := each head's probabilities times V.
     *
     * @param causal the causal mask of one key/value head's group of query heads ((heads/kvHeads)*T x T), which every
     *     group's scores add, or null for T = 1
     */
    void forward(Pass pass, INDArray qs, INDArray ks, INDArray vs, INDArray causal, INDArray out) {
        int len = pass.length();
        kept = pass.train() && keeps(pass.rows(), len);
        INDArray vh = shared.get("attn.vh", (long) kvHeads * len, headDim, DataType.BFLOAT16);
        INDArray oh = shared.get("attn.oh", (long) heads * len, headDim);
        for (int b = 0; b < pass.rows(); b++) {
            long row0 = (long) b * len;
            INDArray p = probabilities(pass, b, kept ? kept(b, len) : shared(len), qs, ks, causal);
            HeadProducts.toHeadMajor(vs, row0, len, kvHeads, headDim, vh);
            HeadProducts.product(false, false, kvHeads, groupRows(len), headDim, len, 1.0, p, vh, oh, null);
            HeadProducts.fromHeadMajor(oh, out, row0, len, heads, headDim);
        }
    }

    /** dq := d loss / d q, dk := d loss / d k, dv := d loss / d v (tokens-first), from dO (tokens-first). */
    void backward(
            Pass pass,
            INDArray qs,
            INDArray ks,
            INDArray vs,
            INDArray causal,
            INDArray dO,
            INDArray dq,
            INDArray dk,
            INDArray dv) {
        int len = pass.length();
        int gr = groupRows(len);
        INDArray qh = shared.get("attn.qh", (long) heads * len, headDim, DataType.BFLOAT16);
        INDArray kh = shared.get("attn.kh", (long) kvHeads * len, headDim, DataType.BFLOAT16);
        INDArray vh = shared.get("attn.vh", (long) kvHeads * len, headDim, DataType.BFLOAT16);
        INDArray dOh = shared.get("attn.dOh", (long) heads * len, headDim, DataType.BFLOAT16);
        INDArray dS = shared.get("attn.dS", (long) heads * len, len, DataType.BFLOAT16);
        INDArray qGrad = shared.get("attn.oh", (long) heads * len, headDim);
        INDArray kvGrad = shared.get("attn.kvh", (long) kvHeads * len, headDim);
        for (int b = 0; b < pass.rows(); b++) {
            long row0 = (long) b * len;
            INDArray p;
            if (kept) {
                p = kept(b, len);
                HeadProducts.toHeadMajor(qs, row0, len, heads, headDim, qh);
                HeadProducts.toHeadMajor(ks, row0, len, kvHeads, headDim, kh);
            } else {
                p = probabilities(pass, b, shared(len), qs, ks, causal);
            }
            HeadProducts.toHeadMajor(vs, row0, len, kvHeads, headDim, vh);
            HeadProducts.toHeadMajor(dO, row0, len, heads, headDim, dOh);
            HeadProducts.product(true, false, kvHeads, len, headDim, gr, 1.0, p, dOh, kvGrad, null); // P^T dO
            HeadProducts.fromHeadMajor(kvGrad, dv, row0, len, kvHeads, headDim);
            HeadProducts.product(false, true, kvHeads, gr, len, headDim, 1.0, dOh, vh, dS, null); // dP = dO V^T
            HeadProducts.softmaxBackward(p, dS); // dP := dS
            HeadProducts.product(false, false, kvHeads, gr, headDim, len, scale, dS, kh, qGrad, null); // scale dS K
            HeadProducts.fromHeadMajor(qGrad, dq, row0, len, heads, headDim);
            HeadProducts.product(true, false, kvHeads, len, headDim, gr, scale, dS, qh, kvGrad, null); // scale dS^T Q
            HeadProducts.fromHeadMajor(kvGrad, dk, row0, len, kvHeads, headDim);
        }
    }

    /**
     * p := softmax(scale q k^T + causal mask + padding mask) of sequence b, every head, in bf16; leaves the head-major
     * bf16 copies of its q and k in the shared buffers attn.qh and attn.kh for the products that follow.
     */
    private INDArray probabilities(Pass pass, int b, INDArray p, INDArray qs, INDArray ks, INDArray causal) {
        int len = pass.length();
        INDArray qh = shared.get("attn.qh", (long) heads * len, headDim, DataType.BFLOAT16);
        INDArray kh = shared.get("attn.kh", (long) kvHeads * len, headDim, DataType.BFLOAT16);
        INDArray scores = shared.get("attn.probs", (long) heads * len, len);
        HeadProducts.toHeadMajor(qs, (long) b * len, len, heads, headDim, qh);
        HeadProducts.toHeadMajor(ks, (long) b * len, len, kvHeads, headDim, kh);
        // The causal mask is added inside the product; the padding mask after it.
        HeadProducts.product(false, true, kvHeads, groupRows(len), len, headDim, scale, qh, kh, scores, causal);
        if (pass.keyBias() != null) {
            scores.addiRowVector(pass.keyBias().getRow(b, true));
        }
        HeadProducts.softmax(scores, p);
        return p;
    }

    /** Sequence b's kept probabilities (this layer's). */
    private INDArray kept(int b, int len) {
        return layer.get("attn.p." + b, (long) heads * len, len, DataType.BFLOAT16);
    }

    /** Probabilities made for one use (the model's shared buffer). */
    private INDArray shared(int len) {
        return shared.get("attn.ph", (long) heads * len, len, DataType.BFLOAT16);
    }

    /** The query rows a key/value head serves in one sequence: its group's heads times T. */
    private int groupRows(int len) {
        return heads / kvHeads * len;
    }
}
