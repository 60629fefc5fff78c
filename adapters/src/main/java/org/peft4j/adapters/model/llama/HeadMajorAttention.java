package org.peft4j.adapters.model.llama;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.core.Scratch;
import org.peft4j.adapters.linalg.Bf16;
import org.peft4j.adapters.linalg.HeadProducts;
import org.peft4j.adapters.linalg.RowSoftmax;

/**
 * One layer's attention products for passes without a KV cache (training, scoring) on head-major operands
 * ({@link HeadProducts}). In a bf16 model they multiply in bf16, as torch's bf16 attention does: q, k, v and dO are
 * rounded to bf16 as they are copied head-major, and so are the probabilities P and dS as the products read them. In
 * an fp32 model every operand stays fp32 (the products read P and dS themselves). The scores,
 * their softmax, dP = dO V^T and the softmax backward stay fp32: dS = P (dP - rowsum(P dP)) is a small difference of
 * large numbers when the values share a common part, and with P and dP rounded to bf16 there the quickstart's
 * 30-round run learned to 0.02 accuracy instead of 0.45. A key/value head's gradient sums over the query heads of its
 * group: those heads' rows are adjacent head-major, so one product per group makes the sum.
 *
 * <p>Causal halves: the first T/2 queries of a sequence see only the first T/2 keys, so they go as their own products
 * against those keys (a quarter of the scores, all of them masked, is never made), and the other queries against all
 * T. Every product, softmax and kept probability is then 3/4 of the full square.
 *
 * <p>A training forward keeps each sequence's fp32 P for backward when a layer's P take at most {@link #KEEP_BYTES}
 * (50 MB at the bench shape: batch 4, 16 heads, T = 512); above that backward recomputes them, to the same bits.
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
    private final DataType operands;
    private final Scratch shared;
    private final Scratch layer;
    private boolean kept;

    /**
     * One half of a sequence's queries: {@code rows} of them from {@code first} on, against its first {@code keys}
     * keys; {@code name} tells its buffers apart.
     */
    private record Half(String name, int first, int rows, int keys) {}

    /**
     * @param shared the model-wide buffers, dead between one layer's use and the next
     * @param layer this layer's own buffers, where kept probabilities live until backward
     * @param operands what the products multiply: BFLOAT16, or FLOAT
     */
    HeadMajorAttention(
            int heads, int kvHeads, int headDim, double scale, DataType operands, Scratch shared, Scratch layer) {
        if (operands != DataType.BFLOAT16 && operands != DataType.FLOAT) {
            throw new IllegalArgumentException("head-major attention multiplies BFLOAT16 or FLOAT, not " + operands);
        }
        this.operands = operands;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.scale = scale;
        this.shared = shared;
        this.layer = layer;
    }

    /** Whether a training pass of {@code rows} sequences of {@code len} tokens keeps its probabilities. */
    boolean keeps(int rows, int len) {
        long perSequence = 0;
        for (Half h : halves(len)) {
            perSequence += (long) heads * h.rows * h.keys;
        }
        return rows * perSequence * DataType.FLOAT.width() <= keepBytes;
    }

    /** Sets the bytes a layer may keep (0: recompute always) and returns the previous limit: for tests. */
    static long keepBytes(long bytes) {
        long before = keepBytes;
        keepBytes = bytes;
        return before;
    }

    /** The first T/2 queries against the first T/2 keys, the rest against all T (one half only for T = 1). */
    private static Half[] halves(int len) {
        int first = len / 2;
        Half all = new Half("b", first, len - first, len);
        return first == 0 ? new Half[] {all} : new Half[] {new Half("a", 0, first, first), all};
    }

    /** out (tokens-first, rows*T x heads*headDim) := each head's probabilities times V. */
    void forward(Pass pass, INDArray qs, INDArray ks, INDArray vs, INDArray out) {
        int len = pass.length();
        kept = pass.train() && keeps(pass.rows(), len);
        INDArray kh = shared.get("attn.kh", (long) kvHeads * len, headDim, operands);
        INDArray vh = shared.get("attn.vh", (long) kvHeads * len, headDim, operands);
        for (int b = 0; b < pass.rows(); b++) {
            long row0 = (long) b * len;
            HeadProducts.toHeadMajor(ks, row0, len, kvHeads, headDim, kh);
            HeadProducts.toHeadMajor(vs, row0, len, kvHeads, headDim, vh);
            for (Half h : halves(len)) {
                INDArray ph = operand(probabilities(pass, b, h, qs, kh), h);
                INDArray oh = queryBuffer("attn.oh.", h, DataType.FLOAT);
                byQuery(h, headDim, h.keys, 1.0, ph, false, vh, oh, null, len);
                HeadProducts.fromHeadMajor(oh, out, row0 + h.first, h.rows, heads, headDim);
            }
        }
    }

    /** dq := d loss / d q, dk := d loss / d k, dv := d loss / d v (tokens-first), from dO (tokens-first). */
    void backward(
            Pass pass, INDArray qs, INDArray ks, INDArray vs, INDArray dO, INDArray dq, INDArray dk, INDArray dv) {
        int len = pass.length();
        Half[] halves = halves(len);
        INDArray kh = shared.get("attn.kh", (long) kvHeads * len, headDim, operands);
        INDArray vh = shared.get("attn.vh", (long) kvHeads * len, headDim, operands);
        INDArray kvGrad = shared.get("attn.kvh", (long) kvHeads * len, headDim);
        INDArray[] p = new INDArray[halves.length];
        INDArray[] ph = new INDArray[halves.length];
        INDArray[] dOh = new INDArray[halves.length];
        INDArray[] qh = new INDArray[halves.length];
        for (int b = 0; b < pass.rows(); b++) {
            long row0 = (long) b * len;
            HeadProducts.toHeadMajor(ks, row0, len, kvHeads, headDim, kh);
            HeadProducts.toHeadMajor(vs, row0, len, kvHeads, headDim, vh);
            for (int i = 0; i < halves.length; i++) {
                Half h = halves[i];
                qh[i] = queries(h);
                if (kept) {
                    p[i] = kept(b, h);
                    HeadProducts.toHeadMajor(qs, row0 + h.first, h.rows, heads, headDim, qh[i]);
                } else {
                    p[i] = probabilities(pass, b, h, qs, kh);
                }
                ph[i] = operand(p[i], h);
                dOh[i] = queryBuffer("attn.dOh.", h, operands);
                HeadProducts.toHeadMajor(dO, row0 + h.first, h.rows, heads, headDim, dOh[i]);
            }
            byKey(halves, ph, dOh, 1.0, kvGrad, len); // dV = P^T dO
            HeadProducts.fromHeadMajor(kvGrad, dv, row0, len, kvHeads, headDim);
            for (int i = 0; i < halves.length; i++) {
                Half h = halves[i];
                INDArray dP = scoresBuffer("attn.dP.", h, DataType.FLOAT);
                byQuery(h, h.keys, headDim, 1.0, dOh[i], true, vh, dP, null, len); // dP = dO V^T
                HeadProducts.softmaxBackward(p[i], dP); // dP := dS
                // P's operand has been read (dV): its bf16 copy holds dS from here on (in fp32, dS itself is read)
                ph[i] = operand(dP, h);
                INDArray qGrad = queryBuffer("attn.oh.", h, DataType.FLOAT);
                byQuery(h, headDim, h.keys, scale, ph[i], false, kh, qGrad, null, len); // dQ = scale dS K
                HeadProducts.fromHeadMajor(qGrad, dq, row0 + h.first, h.rows, heads, headDim);
            }
            byKey(halves, ph, qh, scale, kvGrad, len); // dK = scale dS^T Q (ph holds dS)
            HeadProducts.fromHeadMajor(kvGrad, dk, row0, len, kvHeads, headDim);
        }
    }

    /**
     * Half h's probabilities in sequence b, softmax(scale q k^T + causal mask + padding mask) for every head, in fp32
     * (in this layer's buffers when this pass keeps them); leaves the head-major copy of h's queries, in the operands'
     * type, in {@link #queries}. {@code kh} holds the sequence's keys head-major.
     */
    private INDArray probabilities(Pass pass, int b, Half h, INDArray qs, INDArray kh) {
        int len = pass.length();
        INDArray qh = queries(h);
        // Made where they are kept when this pass keeps them, then soft-maxed in place.
        INDArray scores = kept ? kept(b, h) : scoresBuffer("attn.scores.", h, DataType.FLOAT);
        HeadProducts.toHeadMajor(qs, (long) b * len + h.first, h.rows, heads, headDim, qh);
        // The causal mask is added inside the product; the padding mask after it.
        byQuery(h, h.keys, headDim, scale, qh, true, kh, scores, len > 1 ? causalMask(h) : null, len);
        pass.addKeyBias(b, scores);
        RowSoftmax.forward(scores);
        return scores;
    }

    /**
     * Per key/value head: c := alpha a op(x) (+ add) with a each group's (heads/kvHeads)*rows x k block of half h, x
     * that head's keys or values (T x headDim; k x n of its leading rows, or n x k when transposed), c each group's
     * rows x n, and add one group's rows x n matrix that every c adds.
     */
    private void byQuery(
            Half h,
            int n,
            int k,
            double alpha,
            INDArray a,
            boolean transX,
            INDArray x,
            INDArray c,
            INDArray add,
            int len) {
        long rows = group(h);
        HeadProducts.product(
                false,
                transX,
                kvHeads,
                group(h),
                n,
                k,
                alpha,
                a,
                rows * k,
                x,
                (long) len * headDim,
                c,
                rows * n,
                false,
                add);
    }

    /**
     * kvGrad (kvHeads*T x headDim) := alpha sum over the halves of left^T right, per key/value head: left each group's
     * rows x keys block, right its rows x headDim block, so the sum runs over the group's query heads too. The half
     * against all keys writes; the other adds into its keys' rows, the leading ones.
     */
    private void byKey(Half[] halves, INDArray[] left, INDArray[] right, double alpha, INDArray kvGrad, int len) {
        for (int i = halves.length - 1; i >= 0; i--) {
            Half h = halves[i];
            long rows = group(h);
            HeadProducts.product(
                    true,
                    false,
                    kvHeads,
                    h.keys,
                    headDim,
                    group(h),
                    alpha,
                    left[i],
                    rows * h.keys,
                    right[i],
                    rows * headDim,
                    kvGrad,
                    (long) len * headDim,
                    i < halves.length - 1,
                    null);
        }
    }

    /**
     * The causal mask of half h for one key/value head's group of query heads ((heads/kvHeads)*rows x keys), which
     * every group's scores add: one for all layers.
     */
    private INDArray causalMask(Half h) {
        int tiles = heads / kvHeads;
        return shared.constant(
                "attn.causal." + h.name,
                (long) tiles * h.rows,
                h.keys,
                DataType.FLOAT,
                mask -> mask.assign(Pass.causalMask(tiles, h.rows, h.keys - h.rows, DataType.FLOAT)));
    }

    /** Sequence b's kept probabilities of half h (this layer's). */
    private INDArray kept(int b, Half h) {
        return layer.get("attn.p." + h.name + b, (long) heads * h.rows, h.keys, DataType.FLOAT);
    }

    /** The head-major copy of half h's queries, in the operands' type. */
    private INDArray queries(Half h) {
        return queryBuffer("attn.qh.", h, operands);
    }

    /**
     * Half h's fp32 probabilities (or dS) as a product's operand: themselves when the products multiply fp32, else
     * rounded into the half's one bf16 buffer for them.
     */
    private INDArray operand(INDArray fp32, Half h) {
        if (operands == DataType.FLOAT) {
            return fp32;
        }
        INDArray bf16 = scoresBuffer("attn.ph.", h, DataType.BFLOAT16);
        Bf16.round(fp32, bf16);
        return bf16;
    }

    /** A shared heads*rows x headDim buffer of half h. */
    private INDArray queryBuffer(String key, Half h, DataType type) {
        return shared.get(key + h.name, (long) heads * h.rows, headDim, type);
    }

    /** A shared heads*rows x keys buffer of half h. */
    private INDArray scoresBuffer(String key, Half h, DataType type) {
        return shared.get(key + h.name, (long) heads * h.rows, h.keys, type);
    }

    /** The query rows a key/value head serves in half h: its group's heads times the half's rows. */
    private int group(Half h) {
        return heads / kvHeads * h.rows;
    }
}
