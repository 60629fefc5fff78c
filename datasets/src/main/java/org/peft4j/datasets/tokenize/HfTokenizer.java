package org.peft4j.datasets.tokenize;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Map;

/**
 * A Hugging Face {@code tokenizer.json} through the Rust tokenizers library (DJL's binding, which bundles the native
 * library and needs no network). Truncation and padding are off: batching does both, with counts.
 */
public final class HfTokenizer implements Tokenizer {
    private static final Map<String, String> OPTIONS = Map.of(
            "truncation",
            "false",
            "padding",
            "false",
            "addSpecialTokens",
            "true",
            "modelMaxLength",
            String.valueOf(Integer.MAX_VALUE));

    private final HuggingFaceTokenizer tokenizer;
    private final int bos;
    private final int eos;
    private final int pad;

    private HfTokenizer(HuggingFaceTokenizer tokenizer, int bos, int eos, int pad) {
        this.tokenizer = tokenizer;
        this.bos = bos;
        this.eos = eos;
        this.pad = pad;
    }

    /**
     * @param json the bytes of {@code tokenizer.json}
     * @param source where they came from, for messages
     * @param bos the model's {@code bos_token_id} (from its config.json)
     * @param eos the model's {@code eos_token_id}
     * @param pad the id padding uses; LLaMA has no pad token, so callers usually pass EOS or 0
     */
    public static HfTokenizer load(byte[] json, String source, int bos, int eos, int pad) {
        try {
            return new HfTokenizer(
                    HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json), OPTIONS), bos, eos, pad);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(source + ": not a loadable tokenizer.json: " + e.getMessage(), e);
        }
    }

    @Override
    public int[] encode(String text) {
        return ids(tokenizer.encode(text, true, false));
    }

    @Override
    public int[] encodePlain(String text) {
        return ids(tokenizer.encode(text, false, false));
    }

    @Override
    public String decode(int[] ids) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            l[i] = ids[i];
        }
        return tokenizer.decode(l, true);
    }

    @Override
    public int bosId() {
        return bos;
    }

    @Override
    public int eosId() {
        return eos;
    }

    @Override
    public int padId() {
        return pad;
    }

    @Override
    public void close() {
        tokenizer.close();
    }

    private static int[] ids(Encoding e) {
        long[] l = e.getIds();
        int[] out = new int[l.length];
        for (int i = 0; i < l.length; i++) {
            out[i] = Math.toIntExact(l[i]);
        }
        return out;
    }
}
