package org.peft4j.job.model;

import org.peft4j.adapters.io.ModelFiles;
import org.peft4j.adapters.model.llama.LlamaModel;
import org.peft4j.datasets.tokenize.Tokenizer;

/**
 * A base model ready to use: the model, its tokenizer (null when the directory has none) and the bytes of its
 * {@code tokenizer.json} (for exporting it again).
 *
 * @param files the directory it was read from (a built-in model's packaged one), or null for a model built from a
 *     seed
 * @param dtype how its weights are stored, and why
 */
public record LoadedModel(
        String id,
        LlamaModel model,
        Tokenizer tokenizerOrNull,
        byte[] tokenizerJson,
        ModelFiles files,
        ModelDtype.Resolved dtype) {

    public Tokenizer tokenizer() {
        if (tokenizerOrNull == null) {
            throw new IllegalArgumentException(id + ": has no tokenizer.json, and this command needs to tokenize text");
        }
        return tokenizerOrNull;
    }
}
