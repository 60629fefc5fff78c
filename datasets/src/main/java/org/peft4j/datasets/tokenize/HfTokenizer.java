package org.peft4j.datasets.tokenize;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.HashMap;
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

    private static final ObjectMapper JSON = new ObjectMapper();

    private HfTokenizer(HuggingFaceTokenizer tokenizer, int bos, int eos, int pad) {
        this.tokenizer = tokenizer;
        this.bos = bos;
        this.eos = eos;
        this.pad = pad;
    }

    /**
     * A tokenizer without {@code tokenizer_config.json}: special ids as the model's config.json gives them.
     *
     * @param json the bytes of {@code tokenizer.json}
     * @param source where they came from, for messages
     * @param bos the model's {@code bos_token_id}
     * @param eos the model's {@code eos_token_id}
     * @param pad the id padding uses; LLaMA has no pad token, so callers usually pass EOS or 0
     */
    public static HfTokenizer load(byte[] json, String source, int bos, int eos, int pad) {
        return new HfTokenizer(open(json, source), bos, eos, pad);
    }

    /**
     * A tokenizer as transformers' AutoTokenizer builds it from {@code tokenizer.json} and
     * {@code tokenizer_config.json}: the special tokens named there ({@code bos_token}, {@code eos_token},
     * {@code pad_token}; a string or an added-token object; null for none) decide the ids, falling back to the model
     * config's ids where a key is absent. tokenizer.json's post-processor adds what it adds; an {@code add_bos_token}
     * or {@code add_eos_token} that says otherwise, or a special token tokenizer.json does not know, is refused with
     * the file and key named.
     *
     * @param config the bytes of {@code tokenizer_config.json}
     * @param configSource where they came from, for messages
     * @param bos the model config's {@code bos_token_id} (null for none)
     */
    public static HfTokenizer load(
            byte[] json, String source, byte[] config, String configSource, Integer bos, int eos, Integer pad) {
        HuggingFaceTokenizer t = open(json, source);
        JsonNode c;
        Map<String, Integer> ids;
        try {
            c = JSON.readTree(config);
            ids = tokenIds(JSON.readTree(json));
        } catch (IOException e) {
            throw new IllegalArgumentException(configSource + ": not valid JSON: " + e.getMessage(), e);
        }
        if (c == null || !c.isObject()) {
            throw new IllegalArgumentException(configSource + ": expected a JSON object");
        }
        Integer b = special(c, "bos_token", bos, ids, configSource, source);
        Integer e = special(c, "eos_token", eos, ids, configSource, source);
        Integer p = special(c, "pad_token", pad, ids, configSource, source);
        if (e == null) {
            throw new IllegalArgumentException(configSource + ": key 'eos_token' is null, and training needs an"
                    + " end-of-sequence token to append");
        }
        long[] empty = t.encode("", true, false).getIds();
        checkAdds(c, "add_bos_token", empty.length > 0 && b != null && empty[0] == b, "BOS", configSource, source);
        checkAdds(c, "add_eos_token", empty.length > 0 && empty[empty.length - 1] == e, "EOS", configSource, source);
        return new HfTokenizer(t, b == null ? -1 : b, e, p == null ? 0 : p);
    }

    private static HuggingFaceTokenizer open(byte[] json, String source) {
        try {
            return HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json), OPTIONS);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(source + ": not a loadable tokenizer.json: " + e.getMessage(), e);
        }
    }

    /** Every token tokenizer.json knows (the model's vocabulary and the added tokens), by content. */
    private static Map<String, Integer> tokenIds(JsonNode tokenizer) {
        Map<String, Integer> out = new HashMap<>();
        JsonNode vocab = tokenizer.path("model").path("vocab");
        if (vocab.isObject()) {
            vocab.fields()
                    .forEachRemaining(e -> out.put(e.getKey(), e.getValue().asInt()));
        } else if (vocab.isArray()) { // Unigram: [[piece, score], ...] in id order
            for (int i = 0; i < vocab.size(); i++) {
                out.put(vocab.get(i).get(0).asText(), i);
            }
        }
        for (JsonNode a : tokenizer.path("added_tokens")) {
            out.put(a.path("content").asText(), a.path("id").asInt());
        }
        return out;
    }

    /** The id of a special token named in tokenizer_config.json, or {@code dflt} when the key is absent. */
    private static Integer special(
            JsonNode c, String key, Integer dflt, Map<String, Integer> ids, String configSource, String source) {
        if (!c.has(key)) {
            return dflt;
        }
        JsonNode v = c.get(key);
        if (v.isNull()) {
            return null;
        }
        String token = v.isObject() ? v.path("content").asText() : v.asText();
        Integer id = ids.get(token);
        if (id == null) {
            throw new IllegalArgumentException(configSource + ": key '" + key + "': token '" + token + "' is not in "
                    + source + " (the two files disagree)");
        }
        return id;
    }

    private static void checkAdds(
            JsonNode c, String key, boolean adds, String what, String configSource, String source) {
        JsonNode v = c.get(key);
        if (v != null && v.isBoolean() && v.asBoolean() != adds) {
            throw new IllegalArgumentException(configSource + ": key '" + key + "' is " + v.asBoolean() + ", but the"
                    + " post-processor of " + source + (adds ? " adds " : " does not add ") + what + ": the two files"
                    + " disagree (transformers would follow one or the other depending on the tokenizer class)");
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
