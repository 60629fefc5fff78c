package org.peft4j.datasets.tokenize;

/**
 * Text to token ids and back: the seam between the data and the model. {@link #encode} applies the tokenizer's own
 * post-processor (for LLaMA: a leading BOS), {@link #encodePlain} adds no special tokens (for the pieces of a prompt).
 */
public interface Tokenizer extends AutoCloseable {

    int[] encode(String text);

    int[] encodePlain(String text);

    /** Text of the ids, special tokens skipped. */
    String decode(int[] ids);

    /** -1 when the tokenizer has none (Qwen2). */
    int bosId();

    int eosId();

    /** The id batches are padded with (never scored: padded positions carry the ignore label). */
    int padId();

    @Override
    default void close() {}
}
