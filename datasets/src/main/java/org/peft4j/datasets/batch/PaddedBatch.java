package org.peft4j.datasets.batch;

import java.io.Serializable;

/**
 * Examples padded on the right to one length, row-major: what the job turns into the model's token batch.
 *
 * @param labels IGNORE on padding and prompts; null for sequence-head batches
 * @param targets one per row for sequence-head batches; null otherwise
 */
public record PaddedBatch(int rows, int length, int[] inputIds, int[] attentionMask, int[] labels, double[] targets)
        implements Serializable {

    public long realTokens() {
        long n = 0;
        for (int m : attentionMask) {
            n += m;
        }
        return n;
    }
}
