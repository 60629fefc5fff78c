package org.peft4j.adapters.model.llama;

import org.nd4j.linalg.api.ndarray.INDArray;

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
}
