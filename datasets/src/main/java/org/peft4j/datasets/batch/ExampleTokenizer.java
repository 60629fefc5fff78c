package org.peft4j.datasets.batch;

import java.util.Arrays;
import org.peft4j.datasets.glue.GlueRecord;
import org.peft4j.datasets.prompt.PromptTemplate;
import org.peft4j.datasets.record.InstructionRecord;
import org.peft4j.datasets.tokenize.Tokenizer;

/**
 * Records to token ids the way LLM-Adapters' {@code finetune.py} does it: the whole text (prompt + output) is
 * tokenized with the tokenizer's special tokens (BOS), cut to {@code maxLength}, EOS appended if there is room; then,
 * unless {@code trainOnInputs} (finetune.py's {@code train_on_inputs}, whose default there is True), the first
 * len(tokenize(prompt)) labels are masked. Counts truncated records.
 */
public final class ExampleTokenizer {
    private final Tokenizer tokenizer;
    private final PromptTemplate template;
    private final int maxLength;
    private final boolean trainOnInputs;
    private long examples;
    private long truncated;
    private long withoutTargets;

    /** Masks the prompt's labels (train_on_inputs = False). */
    public ExampleTokenizer(Tokenizer tokenizer, PromptTemplate template, int maxLength) {
        this(tokenizer, template, maxLength, false);
    }

    /** @param trainOnInputs score the prompt's tokens too (finetune.py's train_on_inputs) */
    public ExampleTokenizer(Tokenizer tokenizer, PromptTemplate template, int maxLength, boolean trainOnInputs) {
        if (maxLength < 2) {
            throw new IllegalArgumentException("max_length must be at least 2, found " + maxLength);
        }
        this.tokenizer = tokenizer;
        this.template = template;
        this.maxLength = maxLength;
        this.trainOnInputs = trainOnInputs;
    }

    public TokenizedExample causal(InstructionRecord r) {
        int[] full = tokenizer.encode(template.full(r));
        boolean cut = full.length + 1 > maxLength;
        int[] ids = Arrays.copyOf(full, Math.min(full.length + 1, maxLength));
        if (!cut) {
            ids[ids.length - 1] = tokenizer.eosId();
        }
        int promptLength = trainOnInputs ? 0 : Math.min(tokenizer.encode(template.prompt(r)).length, ids.length);
        int[] labels = ids.clone();
        Arrays.fill(labels, 0, promptLength, TokenizedExample.IGNORE);
        count(cut);
        withoutTargets += promptLength >= ids.length ? 1 : 0;
        return new TokenizedExample(ids, labels, Double.NaN, cut);
    }

    /** A sequence-head example: the sentence (pair joined by EOS, as LLaMA has no separator token), no labels. */
    public TokenizedExample sequence(GlueRecord r) {
        int[] a = tokenizer.encode(r.text());
        int[] ids = a;
        if (r.pair() != null) {
            int[] b = tokenizer.encodePlain(r.pair());
            ids = Arrays.copyOf(a, a.length + 1 + b.length);
            ids[a.length] = tokenizer.eosId();
            System.arraycopy(b, 0, ids, a.length + 1, b.length);
        }
        boolean cut = ids.length > maxLength;
        count(cut);
        return new TokenizedExample(cut ? Arrays.copyOf(ids, maxLength) : ids, null, r.target(), cut);
    }

    private void count(boolean cut) {
        examples++;
        truncated += cut ? 1 : 0;
    }

    public long examples() {
        return examples;
    }

    public long truncated() {
        return truncated;
    }

    /** Examples cut so short that no response token is left to train on. */
    public long withoutTargets() {
        return withoutTargets;
    }
}
