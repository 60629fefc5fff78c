package org.peft4j.adapters.model.llama;

import org.nd4j.linalg.api.buffer.DataType;

/**
 * The built-in model that makes the project run with no download: a small LLaMA (GQA, untied head) whose weights
 * come from a seed, sized for the built-in byte-level tokenizer (3 special tokens + 256 bytes).
 */
public final class TinyLlama {
    public static final String NAME = "builtin:tiny-llama";
    public static final long SEED = 20261124L;
    public static final int VOCAB = 259;

    private TinyLlama() {}

    public static LlamaConfig config() {
        return LlamaConfig.llama(128, 352, 4, 4, 2, 32, VOCAB, false, 1e-5, 10000.0, 512);
    }

    public static LlamaWeights weights(DataType type) {
        return LlamaWeights.random(config(), SEED, type, true);
    }
}
