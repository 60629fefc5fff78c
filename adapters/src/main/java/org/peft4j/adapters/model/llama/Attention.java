package org.peft4j.adapters.model.llama;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.peft4j.adapters.core.Scratch;
import org.peft4j.adapters.core.TargetLinear;
import org.peft4j.adapters.linalg.Gemm;

/**
 * Causal self-attention with grouped-query heads (query head h reads key/value head h / (heads / kvHeads)), rotary
 * positions on q and k, and q/k/v/o as {@link TargetLinear}s that may carry adapters.
 *
 * <p>Per (sequence, head) the scores are one T x T GEMM into a reused buffer. The backward pass recomputes the
 * probabilities from the kept q and k instead of storing a T x T matrix per head and layer (batch 4, 16 heads,
 * T = 512 would be 64 MB per layer): one extra GEMM per head buys a layer's worth of memory.
 */
final class Attention {
    private final int layer;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final double scale;
    private final TargetLinear q;
    private final TargetLinear k;
    private final TargetLinear v;
    private final TargetLinear o;
    private final Rotary rotary;
    private final Scratch scratch;
    private Pass pass;
    private INDArray q4;
    private INDArray keys4;
    private INDArray values4;
    private INDArray causal;
    private long causalKey = -1;

    Attention(int layer, LlamaConfig c, TargetLinear q, TargetLinear k, TargetLinear v, TargetLinear o,
              Rotary rotary) {
        this.layer = layer;
        this.heads = c.numAttentionHeads();
        this.kvHeads = c.numKeyValueHeads();
        this.headDim = c.headDim();
        this.scale = 1.0 / Math.sqrt(headDim);
        this.q = q;
        this.k = k;
        this.v = v;
        this.o = o;
        this.rotary = rotary;
        this.scratch = new Scratch(q.weight().dataType());
    }

    INDArray forward(INDArray h, Pass p) {
        this.pass = p;
        int rows = p.rows();
        int len = p.length();
        INDArray qy = q.forward(h, p.train());
        INDArray ky = k.forward(h, p.train());
        INDArray vy = v.forward(h, p.train());
        rotary.apply(qy, rows, len, heads, p.cos(), p.sin());
        rotary.apply(ky, rows, len, kvHeads, p.cos(), p.sin());
        q4 = buffer("q4", rows, heads, len).assign(headsFirst(qy, rows, len, heads));
        if (p.cache() != null) {
            INDArrayIndex all = NDArrayIndex.all();
            INDArrayIndex block = NDArrayIndex.interval(p.past(), p.keys());
            p.cache().keys(layer).get(all, all, block, all).assign(headsFirst(ky, rows, len, kvHeads));
            p.cache().values(layer).get(all, all, block, all).assign(headsFirst(vy, rows, len, kvHeads));
            keys4 = p.cache().keys(layer);
            values4 = p.cache().values(layer);
        } else {
            keys4 = buffer("k4", rows, kvHeads, len).assign(headsFirst(ky, rows, len, kvHeads));
            values4 = buffer("v4", rows, kvHeads, len).assign(headsFirst(vy, rows, len, kvHeads));
        }
        INDArray o4 = buffer("o4", rows, heads, len);
        INDArray probs = scratch.get("probs", len, p.keys());
        for (int b = 0; b < rows; b++) {
            for (int hd = 0; hd < heads; hd++) {
                probabilities(b, hd, probs);
                Gemm.set(slice(o4, b, hd), probs, false, keySlice(values4, b, group(hd)), false);
            }
        }
        INDArray o2 = scratch.get("o2", (long) rows * len, (long) heads * headDim);
        o2.reshape('c', rows, len, heads, headDim).assign(o4.permute(0, 2, 1, 3));
        return o.forward(o2, p.train());
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
        INDArray dO2 = o.backward(dOut, true);
        INDArray dO4 = buffer("dO4", rows, heads, len).assign(headsFirst(dO2, rows, len, heads));
        INDArray dQ4 = buffer("dQ4", rows, heads, len);
        INDArray dK4 = buffer("dK4", rows, kvHeads, len).assign(0);
        INDArray dV4 = buffer("dV4", rows, kvHeads, len).assign(0);
        INDArray probs = scratch.get("probs", len, len);
        INDArray dP = scratch.get("dP", len, len);
        INDArray tmp = scratch.get("tmp", len, len);
        for (int b = 0; b < rows; b++) {
            for (int hd = 0; hd < heads; hd++) {
                int g = group(hd);
                probabilities(b, hd, probs);
                Gemm.add(slice(dV4, b, g), probs, true, slice(dO4, b, hd), false, 1.0);
                Gemm.set(dP, slice(dO4, b, hd), false, keySlice(values4, b, g), true);
                INDArray rowSums = dP.mul(probs, tmp).sum(1).reshape(len, 1);
                dP.subiColumnVector(rowSums).muli(probs);
                Gemm.into(slice(dQ4, b, hd), dP, false, keySlice(keys4, b, g), false, scale, 0.0);
                Gemm.add(slice(dK4, b, g), dP, true, slice(q4, b, hd), false, scale);
            }
        }
        INDArray dq = tokensFirst("dq", dQ4, rows, len, heads);
        INDArray dk = tokensFirst("dk", dK4, rows, len, kvHeads);
        INDArray dv = tokensFirst("dv", dV4, rows, len, kvHeads);
        rotary.applyBackward(dq, rows, len, heads, pass.cos(), pass.sin());
        rotary.applyBackward(dk, rows, len, kvHeads, pass.cos(), pass.sin());
        INDArray dh = q.backward(dq, needDx);
        INDArray dhk = k.backward(dk, needDx);
        INDArray dhv = v.backward(dv, needDx);
        return needDx ? dh.addi(dhk).addi(dhv) : null;
    }

    /** probs = softmax(scale q k^T + causal mask + padding mask) for sequence b, head h. */
    private void probabilities(int b, int h, INDArray probs) {
        Gemm.into(probs, slice(q4, b, h), false, keySlice(keys4, b, group(h)), true, scale, 0.0);
        if (pass.length() > 1) {
            probs.addi(causalMask(pass.length(), pass.past()));
        }
        if (pass.keyBias() != null) {
            probs.addiRowVector(pass.keyBias().getRow(b, true));
        }
        Nd4j.exec(new SoftMax(probs, probs, 1));
    }

    /** 0 where key j may be seen by query i (j <= past + i), MASKED elsewhere; reused while the shape repeats. */
    private INDArray causalMask(int len, int past) {
        long key = ((long) len << 32) | past;
        if (key != causalKey) {
            int keys = past + len;
            double[] m = new double[len * keys];
            for (int i = 0; i < len; i++) {
                for (int j = past + i + 1; j < keys; j++) {
                    m[i * keys + j] = Pass.MASKED;
                }
            }
            causal = Nd4j.create(m, new long[] {len, keys}, q.weight().dataType());
            causalKey = key;
        }
        return causal;
    }

    private int group(int head) {
        return head / (heads / kvHeads);
    }

    private INDArray buffer(String key, int rows, int nHeads, int len) {
        return scratch.get(key, (long) rows * nHeads * len, headDim).reshape('c', rows, nHeads, len, headDim);
    }

    /** (rows*len x nHeads*headDim) tokens-first to a (rows, nHeads, len, headDim) view, for assign. */
    private INDArray headsFirst(INDArray x, int rows, int len, int nHeads) {
        return x.reshape('c', rows, len, nHeads, headDim).permute(0, 2, 1, 3);
    }

    private INDArray tokensFirst(String key, INDArray x4, int rows, int len, int nHeads) {
        INDArray out = scratch.get(key, (long) rows * len, (long) nHeads * headDim);
        out.reshape('c', rows, len, nHeads, headDim).assign(x4.permute(0, 2, 1, 3));
        return out;
    }

    /** Rows 0..keys of a key or value head (the KV cache holds more rows than are filled). */
    private INDArray keySlice(INDArray x4, int b, int h) {
        if (x4.size(2) == pass.keys()) {
            return slice(x4, b, h);
        }
        return x4.get(NDArrayIndex.point(b), NDArrayIndex.point(h), NDArrayIndex.interval(0, pass.keys()),
                NDArrayIndex.all());
    }

    private static INDArray slice(INDArray x4, int b, int h) {
        return x4.get(NDArrayIndex.point(b), NDArrayIndex.point(h), NDArrayIndex.all(), NDArrayIndex.all());
    }
}
