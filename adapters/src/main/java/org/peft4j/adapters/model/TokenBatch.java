package org.peft4j.adapters.model;

/**
 * A batch of token ids, the only thing the model sees of the data: {@code rows} sequences of {@code length} tokens,
 * right-padded, row-major.
 *
 * @param attentionMask 1 for a real token, 0 for padding; real tokens form a prefix of each row
 * @param labels per token, Hugging Face style: the model shifts them, so token t is scored on predicting
 *     {@code labels[t + 1]}; {@link #IGNORE} (-100) marks tokens with no loss (prompt, padding). Null when the
 *     batch is for a sequence head.
 * @param targets one per row for a sequence head: a class index, or a float for regression. Null for causal LM.
 */
public record TokenBatch(int rows, int length, int[] inputIds, int[] attentionMask, int[] labels, double[] targets) {
    public static final int IGNORE = -100;

    public TokenBatch {
        int n = rows * length;
        if (rows < 1 || length < 1) {
            throw new IllegalArgumentException(
                    "a batch needs at least one row and one token, found " + rows + " x " + length);
        }
        check("input_ids", inputIds.length, n);
        check("attention_mask", attentionMask.length, n);
        if (labels != null) {
            check("labels", labels.length, n);
        }
        if (targets != null) {
            check("targets", targets.length, rows);
        }
        for (int r = 0; r < rows; r++) {
            for (int t = 1; t < length; t++) {
                if (attentionMask[r * length + t] == 1 && attentionMask[r * length + t - 1] == 0) {
                    throw new IllegalArgumentException("row " + r + ": attention_mask must be a prefix of ones"
                            + " (right padding); found a real token at " + t + " after padding");
                }
            }
        }
    }

    /** Number of real (unpadded) tokens of row r. */
    public int rowLength(int r) {
        int n = 0;
        for (int t = 0; t < length; t++) {
            n += attentionMask[r * length + t];
        }
        return n;
    }

    /** Real tokens in the whole batch. */
    public long realTokens() {
        long n = 0;
        for (int m : attentionMask) {
            n += m;
        }
        return n;
    }

    private static void check(String what, int found, int expected) {
        if (found != expected) {
            throw new IllegalArgumentException(
                    what + " has " + found + " entries, expected rows x length = " + expected);
        }
    }
}
