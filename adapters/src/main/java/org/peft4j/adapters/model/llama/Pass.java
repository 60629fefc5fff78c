package org.peft4j.adapters.model.llama;

import java.lang.ref.Reference;
import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.peft4j.adapters.linalg.Blas;

/**
 * What one forward pass over a block of {@code rows x length} tokens needs besides the hidden states.
 *
 * @param past tokens already in the KV cache before this block (0 in training)
 * @param rope rotary tables for this block's positions
 * @param keyBias additive key mask (rows x (past + length)): 0 for real tokens, a large negative number for padding;
 *     null when no row is padded on the left (right padding needs no key mask under the causal mask)
 * @param cache the KV cache to append to and attend over, or null (training, scoring)
 * @param train whether the backward pass will follow (layers keep what it needs)
 */
record Pass(int rows, int length, int past, Rotary.Tables rope, INDArray keyBias, KvCache cache, boolean train) {
    /** Masked logits get this bias: finite, so a row with every key masked gives a uniform row, not NaN. */
    static final double MASKED = -1e9;

    int keys() {
        return past + length;
    }

    /**
     * Adds sequence b's padding mask, if any, to every row of {@code scores} (one row per query, one column per key:
     * the mask's leading {@code scores.columns()} keys, for scores against only the first keys).
     */
    void addKeyBias(int b, INDArray scores) {
        if (keyBias == null) {
            return;
        }
        int keys = (int) scores.columns();
        if (Blas.wholeHostFloats(scores) && keyBias.dataType() == DataType.FLOAT && keyBias.stride(1) == 1) {
            // A loop: a decoding step adds a heads x keys handful per sequence and layer, where ND4J's broadcast op on
            // a row view cost more than the sums (a fifth of a small model's evaluation, JFR).
            float[] mask = new float[keys];
            float[] row = new float[keys];
            keyBias.data().asNioFloat().get((int) (keyBias.offset() + b * keyBias.stride(0)), mask, 0, keys);
            FloatBuffer s = scores.data().asNioFloat();
            for (int r = 0, at = 0; r < scores.rows(); r++, at += keys) {
                s.get(at, row, 0, keys);
                for (int j = 0; j < keys; j++) {
                    row[j] += mask[j];
                }
                s.put(at, row, 0, keys);
            }
            Reference.reachabilityFence(keyBias);
            Reference.reachabilityFence(scores);
            return;
        }
        INDArray bias = keyBias.getRow(b, true);
        scores.addiRowVector(
                keys == bias.columns() ? bias : bias.get(NDArrayIndex.all(), NDArrayIndex.interval(0, keys)));
    }

    /**
     * The causal mask of {@code len} queries after {@code past} cached tokens, tiled over {@code heads}: a (heads*len
     * x past+len) matrix, 0 where key j may be seen by query i (j <= past + i), MASKED elsewhere.
     */
    static INDArray causalMask(int heads, int len, int past, DataType type) {
        int keys = past + len;
        double[] m = new double[heads * len * keys];
        for (int r = 0; r < heads * len; r++) {
            for (int j = past + r % len + 1; j < keys; j++) {
                m[r * keys + j] = MASKED;
            }
        }
        return Nd4j.create(m, new long[] {(long) heads * len, keys}, type);
    }
}
