package org.peft4j.adapters.model.llama;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.peft4j.adapters.core.Scratch;
import org.peft4j.adapters.core.TargetLinear;
import org.peft4j.adapters.linalg.Blas;
import org.peft4j.adapters.linalg.Blas.Block;
import org.peft4j.adapters.linalg.HeadProducts;
import org.peft4j.adapters.linalg.RowSoftmax;

/**
 * Causal self-attention with grouped-query heads (query head h reads key/value head h / (heads / kvHeads)), rotary
 * positions on q and k, and q/k/v/o as {@link TargetLinear}s that may carry adapters.
 *
 * <p>Everything stays tokens-first, (tokens x heads*headDim) as the projections produce it: a head is a column block
 * reached by offset and leading dimension ({@link Blas}), so no permuted copies are made. Per sequence the scores of
 * all heads form one (heads*T x keys) matrix, masked and soft-maxed in one operation each. Backward recomputes those
 * probabilities from the kept q and k instead of storing them per layer (batch 4, 16 heads, T = 512 would be 64 MB
 * per layer in fp32): one extra GEMM per head buys a layer's worth of memory.
 *
 * <p>Where oneDNN runs the products, a pass without a KV cache (training, scoring) goes head-major instead
 * ({@link HeadMajorAttention}: batched products on head-major copies, causal halves, fp32 probabilities kept for
 * backward up to a per-layer budget): in bf16 for a bf16 model, as torch's bf16 attention multiplies, in fp32 for an
 * fp32 one. Cached generation, double-precision models and every other backend take the tokens-first products.
 */
final class Attention {
    private final int layer;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final double scale;
    private final int slidingWindow;
    /** What head-major passes multiply (the weights' type: bf16, or fp32), or null where they do not apply. */
    private final DataType headMajorOperands;

    /** Whether an fp32 model's passes go head-major too (false: the tokens-first products; for tests and A/Bs). */
    private static volatile boolean fp32HeadMajor = true;

    private boolean headMajorPass;
    private final TargetLinear q;
    private final TargetLinear k;
    private final TargetLinear v;
    private final TargetLinear o;
    private final Rotary rotary;
    private final Scratch scratch;
    private final Scratch shared;
    private final HeadMajorAttention headMajor;
    private Pass pass;
    private INDArray qs;
    private INDArray ks;
    private INDArray vs;
    private int kvRowsPerSequence;

    Attention(
            int layer,
            LlamaConfig c,
            TargetLinear q,
            TargetLinear k,
            TargetLinear v,
            TargetLinear o,
            Rotary rotary,
            Scratch shared) {
        this.layer = layer;
        this.shared = shared;
        this.heads = c.numAttentionHeads();
        this.kvHeads = c.numKeyValueHeads();
        this.headDim = c.headDim();
        this.scale = 1.0 / Math.sqrt(headDim);
        this.slidingWindow = c.slidingWindow();
        this.q = q;
        this.k = k;
        this.v = v;
        this.o = o;
        this.rotary = rotary;
        this.scratch = new Scratch(q.computeType());
        DataType w = q.weight().dataType();
        this.headMajorOperands = w == DataType.BFLOAT16 || w == DataType.FLOAT ? w : null;
        this.headMajor = headMajorOperands == null
                ? null
                : new HeadMajorAttention(heads, kvHeads, headDim, scale, headMajorOperands, shared, scratch);
    }

    /** Sets whether an fp32 model's passes go head-major and returns the previous setting: for tests and A/Bs. */
    static boolean fp32HeadMajor(boolean on) {
        boolean before = fp32HeadMajor;
        fp32HeadMajor = on;
        return before;
    }

    /** Whether q, k or v has an adapter that reads its input h in backward (then h must be kept). */
    boolean needsInputKept() {
        return q.needsInputKept() || k.needsInputKept() || v.needsInputKept();
    }

    INDArray forward(INDArray h, Pass p) {
        if (slidingWindow > 0 && p.keys() > slidingWindow) {
            throw new IllegalArgumentException("a sequence of " + p.keys() + " tokens is longer than the model's"
                    + " sliding_window of " + slidingWindow + ": sliding-window attention is not implemented, so"
                    + " it is refused (use sequences of at most " + slidingWindow + " tokens)");
        }
        this.pass = p;
        int rows = p.rows();
        int len = p.length();
        qs = q.forward(h, p.train());
        INDArray ky = k.forward(h, p.train());
        INDArray vy = v.forward(h, p.train());
        rotary.apply(qs, rows, len, heads, p.rope());
        rotary.apply(ky, rows, len, kvHeads, p.rope());
        if (p.cache() != null) {
            ks = p.cache().keys(layer);
            vs = p.cache().values(layer);
            kvRowsPerSequence = p.cache().capacity();
            for (int b = 0; b < rows; b++) {
                long at = (long) b * kvRowsPerSequence + p.past();
                ks.get(NDArrayIndex.interval(at, at + len), NDArrayIndex.all())
                        .assign(LlamaModel.rows(ky, b * len, (b + 1) * len));
                vs.get(NDArrayIndex.interval(at, at + len), NDArrayIndex.all())
                        .assign(LlamaModel.rows(vy, b * len, (b + 1) * len));
            }
        } else {
            ks = ky; // the projections' own output buffers: valid until their next forward
            vs = vy;
            kvRowsPerSequence = len;
        }
        boolean keep = p.train() && o.needsInputKept();
        INDArray out =
                (keep ? scratch : shared).get(keep ? "o2" : "attn.o2", (long) rows * len, (long) heads * headDim);
        headMajorPass = headMajorOperands != null
                && p.cache() == null
                && (headMajorOperands == DataType.BFLOAT16 || fp32HeadMajor)
                && HeadProducts.available(headMajorOperands);
        if (headMajorPass) {
            headMajor.forward(pass, qs, ks, vs, out);
        } else {
            forwardProducts(shared.get("attn.probs", (long) heads * len, p.keys()), out);
        }
        return o.forward(out, p.train());
    }

    /** out (tokens-first) := the heads' probabilities times V, head by head. */
    private void forwardProducts(INDArray probs, INDArray out) {
        int len = pass.length();
        int keys = pass.keys();
        for (int b = 0; b < pass.rows(); b++) {
            probabilities(b, probs);
            for (int hd = 0; hd < heads; hd++) {
                Blas.gemm(
                        false,
                        false,
                        len,
                        headDim,
                        keys,
                        1.0,
                        headBlock(probs, hd),
                        kv(vs, b, group(hd)),
                        0.0,
                        queryHead(out, b, hd));
            }
        }
    }

    /**
     * Softmax backward per head: with P the probabilities and dP = dO V^T, dS = P * (dP - rowsum(P * dP)); then
     * dQ = scale dS K, dK = scale dS^T Q, dV = P^T dO (summed over the query heads sharing a key/value head).
     *
     * @return the gradient with respect to the normed input h, or null when {@code needDx} is false
     */
    INDArray backward(INDArray dOut, boolean needDx) {
        int rows = pass.rows();
        int len = pass.length();
        INDArray dO = o.backward(dOut, true);
        INDArray dq = shared.get("attn.dq", (long) rows * len, (long) heads * headDim);
        INDArray dk = shared.get("attn.dk", (long) rows * len, (long) kvHeads * headDim);
        INDArray dv = shared.get("attn.dv", (long) rows * len, (long) kvHeads * headDim);
        if (headMajorPass) {
            headMajor.backward(pass, qs, ks, vs, dO, dq, dk, dv);
        } else {
            backwardProducts(dO, dq, dk.assign(0), dv.assign(0));
        }
        rotary.applyBackward(dq, rows, len, heads, pass.rope());
        rotary.applyBackward(dk, rows, len, kvHeads, pass.rope());
        INDArray dh = q.backward(dq, needDx);
        INDArray dhk = k.backward(dk, needDx);
        INDArray dhv = v.backward(dv, needDx);
        return needDx ? dh.addi(dhk).addi(dhv) : null;
    }

    /** dq := d loss / d q, dk += d loss / d k, dv += d loss / d v, head by head, from dO (tokens-first). */
    private void backwardProducts(INDArray dO, INDArray dq, INDArray dk, INDArray dv) {
        int rows = pass.rows();
        int len = pass.length();
        INDArray probs = shared.get("attn.probs", (long) heads * len, len);
        INDArray dP = shared.get("attn.dP", (long) heads * len, len);
        INDArray tmp = shared.get("attn.tmp", (long) heads * len, len);
        for (int b = 0; b < rows; b++) {
            probabilities(b, probs);
            for (int hd = 0; hd < heads; hd++) {
                int g = group(hd);
                Blas.gemm(
                        true,
                        false,
                        len,
                        headDim,
                        len,
                        1.0,
                        headBlock(probs, hd),
                        queryHead(dO, b, hd),
                        1.0,
                        kv(dv, b, g));
                Blas.gemm(
                        false,
                        true,
                        len,
                        len,
                        headDim,
                        1.0,
                        queryHead(dO, b, hd),
                        kv(vs, b, g),
                        0.0,
                        headBlock(dP, hd));
            }
            RowSoftmax.backward(probs, dP, tmp);
            for (int hd = 0; hd < heads; hd++) {
                int g = group(hd);
                Blas.gemm(
                        false,
                        false,
                        len,
                        headDim,
                        len,
                        scale,
                        headBlock(dP, hd),
                        kv(ks, b, g),
                        0.0,
                        queryHead(dq, b, hd));
                Blas.gemm(
                        true,
                        false,
                        len,
                        headDim,
                        len,
                        scale,
                        headBlock(dP, hd),
                        queryHead(qs, b, hd),
                        1.0,
                        kv(dk, b, g));
            }
        }
    }

    /** probs (heads*T x keys) = softmax(scale q k^T + causal mask + padding mask) for every head of sequence b. */
    private void probabilities(int b, INDArray probs) {
        int len = pass.length();
        int keys = pass.keys();
        for (int hd = 0; hd < heads; hd++) {
            Blas.gemm(
                    false,
                    true,
                    len,
                    keys,
                    headDim,
                    scale,
                    queryHead(qs, b, hd),
                    kv(ks, b, group(hd)),
                    0.0,
                    headBlock(probs, hd));
        }
        if (len > 1) {
            probs.addi(causalMask(q.computeType()));
        }
        pass.addKeyBias(b, probs);
        RowSoftmax.forward(probs);
    }

    /** This pass's {@link Pass#causalMask}, one for all layers (its shape, heads*T x past+T, fixes past). */
    private INDArray causalMask(DataType type) {
        int len = pass.length();
        int past = pass.past();
        return shared.constant(
                "attn.causal",
                (long) heads * len,
                past + len,
                type,
                mask -> mask.assign(Pass.causalMask(heads, len, past, type)));
    }

    private int group(int head) {
        return head / (heads / kvHeads);
    }

    /** Head h of sequence b in a tokens-first (rows*T x heads*headDim) matrix: T x headDim. */
    private Block queryHead(INDArray x, int b, int h) {
        int ld = heads * headDim;
        return new Block(x, (long) b * pass.length() * ld + (long) h * headDim, ld);
    }

    /** Key/value head g of sequence b: rows of that sequence in a keys or values matrix (cache or block). */
    private Block kv(INDArray x, int b, int g) {
        int ld = kvHeads * headDim;
        int perSequence = x == ks || x == vs ? kvRowsPerSequence : pass.length();
        return new Block(x, (long) b * perSequence * ld + (long) g * headDim, ld);
    }

    /** Head h's T x keys block of a (heads*T x keys) scores matrix. */
    private Block headBlock(INDArray scores, int h) {
        int keys = (int) scores.columns();
        return new Block(scores, (long) h * pass.length() * keys, keys);
    }

    /** Bytes of this part's own work buffers (not the shared ones). */
    long bufferBytes() {
        return scratch.bytes();
    }
}
