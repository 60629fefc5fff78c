package org.peft4j.adapters.model.llama;

import java.util.List;
import org.peft4j.adapters.io.ClasspathModelFiles;
import org.peft4j.adapters.io.ModelFiles;

/**
 * The models that ship inside the jar, named {@code builtin:<name>}:
 *
 * <ul>
 *   <li>{@value #ARITH_LLAMA}: a 3.3M-parameter LLaMA pretrained with transformers on arithmetic and short
 *       statements (the script is {@code adapters/src/test/python/pretrain_arith_llama.py}); a plain Hugging Face
 *       directory (BF16 safetensors, byte-level BPE tokenizer) under {@value #ROOT}{@code arith-llama/}, which
 *       transformers loads as it is. The quickstart fine-tunes it.
 *   <li>{@value TinyLlama#NAME}: random weights from a seed and the byte tokenizer ({@link TinyLlama}); for tests
 *       of the machinery, not of learning.
 * </ul>
 */
public final class BuiltinModels {
    public static final String PREFIX = "builtin:";
    public static final String ARITH_LLAMA = "builtin:arith-llama";
    static final String ROOT = "/org/peft4j/builtin/";

    private BuiltinModels() {}

    public static List<String> names() {
        return List.of(ARITH_LLAMA, TinyLlama.NAME);
    }

    /** The packaged directory of a built-in model that has one (not {@value TinyLlama#NAME}). */
    public static ModelFiles files(String location) {
        if (!location.equals(ARITH_LLAMA)) {
            throw new IllegalArgumentException(
                    "unknown built-in model '" + location + "' (built in: " + String.join(", ", names()) + ")");
        }
        return new ClasspathModelFiles(location, ROOT + location.substring(PREFIX.length()));
    }
}
