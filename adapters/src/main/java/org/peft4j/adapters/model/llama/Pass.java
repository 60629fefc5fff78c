package org.peft4j.adapters.model.llama;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

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
