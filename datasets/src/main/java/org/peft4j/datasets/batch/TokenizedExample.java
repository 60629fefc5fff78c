package org.peft4j.datasets.batch;

import java.io.Serializable;

/**
 * One example as token ids.
 *
 * @param labels per token; {@link #IGNORE} where no loss is taken (the prompt); null for a sequence-head example
 * @param target the class index or score of a sequence-head example (NaN for causal LM)
 * @param truncated whether the example was cut to the maximum length (its EOS, or more, is missing)
 */
public record TokenizedExample(int[] ids, int[] labels, double target, boolean truncated) implements Serializable {
    public static final int IGNORE = -100;

    public int length() {
        return ids.length;
    }
}
