package org.peft4j.adapters.model.llama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.peft4j.adapters.core.KeyedOption;

/**
 * Reads a Hugging Face {@code config.json} of the LLaMA family as transformers 5 does, in both layouts: transformers
 * 4's top-level {@code rope_theta} and {@code rope_scaling}, and transformers 5's {@code rope_parameters} (where
 * {@code rope_scaling}, when both are present, wins, as in transformers). Families: {@code llama} (LLaMA 2, 3, 3.1,
 * 3.2; {@code attention_bias}, {@code mlp_bias}), {@code mistral} ({@code sliding_window}, 4096 when absent, as in
 * transformers) and {@code qwen2} (biases on q, k and v).
 *
 * <p>Whatever would change the maths and is not implemented exactly is refused with the file and key named, never
 * run approximately: other model types, activations other than SiLU, rope types other than default, linear and
 * llama3, partial rotary embeddings, per-layer rope parameters, Qwen2's sliding-window layers, attention dropout,
 * quantised checkpoints.
 */
final class HfConfigReader {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final List<String> MODEL_TYPES = List.of("llama", "mistral", "qwen2");
    /** transformers' {@code default_theta} for these families. */
    private static final double DEFAULT_THETA = 10000.0;
    /** transformers' MistralConfig default when the key is absent. */
    private static final int MISTRAL_DEFAULT_WINDOW = 4096;

    private static final Set<String> ROPE_KEYS = Set.of(
            "rope_type",
            "type",
            "rope_theta",
            "factor",
            "low_freq_factor",
            "high_freq_factor",
            "original_max_position_embeddings",
            "partial_rotary_factor");

    private final JsonNode c;
    private final String source;

    private HfConfigReader(JsonNode c, String source) {
        this.c = c;
        this.source = source;
    }

    static LlamaConfig read(byte[] json, String source) {
        JsonNode c;
        try {
            c = JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException(source + ": not valid JSON: " + e.getMessage(), e);
        }
        if (c == null || !c.isObject()) {
            throw new IllegalArgumentException(source + ": expected a JSON object");
        }
        return new HfConfigReader(c, source).config();
    }

    private LlamaConfig config() {
        String type = text("model_type", null);
        if (type == null || !MODEL_TYPES.contains(type)) {
            throw refuse(
                    "model_type",
                    "expected one of " + MODEL_TYPES + ", found "
                            + (type == null ? "none" : "'" + type + "'")
                            + " (other architectures compute differently and are not implemented)");
        }
        String act = text("hidden_act", "silu");
        if (!act.equals("silu")) {
            throw refuse("hidden_act", "only silu (LLaMA's SwiGLU) is implemented, found '" + act + "'");
        }
        if (number("attention_dropout", 0.0) != 0.0) {
            throw refuse(
                    "attention_dropout",
                    "dropout inside attention is not implemented, found " + c.get("attention_dropout"));
        }
        if (present("quantization_config")) {
            throw refuse("quantization_config", "quantised weights are not supported; use the unquantised model");
        }
        int hidden = positive("hidden_size", null);
        int heads = positive("num_attention_heads", null);
        int maxPositions = positive("max_position_embeddings", 2048);
        return new LlamaConfig(
                type,
                hidden,
                positive("intermediate_size", null),
                positive("num_hidden_layers", null),
                heads,
                positive("num_key_value_heads", heads),
                positive("head_dim", hidden / heads),
                positive("vocab_size", null),
                bool("tie_word_embeddings", false),
                number("rms_norm_eps", 1e-6),
                rope(maxPositions),
                maxPositions,
                slidingWindow(type),
                biased(type),
                optionalId("bos_token_id", 1),
                eosIds(),
                optionalId("pad_token_id", null),
                text("dtype", text("torch_dtype", null)));
    }

    /** The rope parameters of either layout, validated for the implemented types. */
    private RopeScaling rope(int maxPositions) {
        JsonNode scaling = c.get("rope_scaling");
        JsonNode params = c.get("rope_parameters");
        String where;
        JsonNode p;
        if (scaling != null && !scaling.isNull()) {
            where = "rope_scaling";
            p = scaling;
        } else if (params != null && !params.isNull()) {
            where = "rope_parameters";
            p = params;
        } else {
            where = null;
            p = JSON.createObjectNode();
        }
        if (!p.isObject()) {
            throw refuse(where, "expected an object, found " + p);
        }
        for (var it = p.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!ROPE_KEYS.contains(k)) {
                throw refuse(
                        where + "." + k,
                        p.get(k).isObject()
                                ? "per-layer rope parameters are not implemented"
                                : "not implemented for the rope types supported (default, linear, llama3)");
            }
        }
        double partial = p.has("partial_rotary_factor")
                ? p.get("partial_rotary_factor").asDouble()
                : number("partial_rotary_factor", 1.0);
        if (partial != 1.0) {
            throw refuse(
                    p.has("partial_rotary_factor") ? where + ".partial_rotary_factor" : "partial_rotary_factor",
                    "partial rotary embeddings are not implemented, found " + partial);
        }
        double theta = p.has("rope_theta") ? p.get("rope_theta").asDouble() : number("rope_theta", DEFAULT_THETA);
        String typeKey = p.has("rope_type") ? "rope_type" : "type";
        String type = p.has(typeKey) ? p.get(typeKey).asText() : "default";
        RopeScaling.Type t;
        try {
            t = KeyedOption.parse(RopeScaling.Type.class, where + "." + typeKey, type);
        } catch (IllegalArgumentException e) {
            throw refuse(
                    where + "." + typeKey,
                    "rope type '" + type + "' is not implemented (implemented: default,"
                            + " linear, llama3); positions would be wrong, so this model is refused");
        }
        return switch (t) {
            case DEFAULT -> RopeScaling.plain(theta);
            case LINEAR -> new RopeScaling(t, theta, ropeNumber(p, where, "factor"), 0, 0, 0);
            case LLAMA3 ->
                new RopeScaling(
                        t,
                        theta,
                        ropeNumber(p, where, "factor"),
                        ropeNumber(p, where, "low_freq_factor"),
                        ropeNumber(p, where, "high_freq_factor"),
                        p.has("original_max_position_embeddings")
                                ? p.get("original_max_position_embeddings").asInt()
                                : maxPositions);
        };
    }

    private double ropeNumber(JsonNode p, String where, String key) {
        JsonNode v = p.get(key);
        if (v == null || !v.isNumber()) {
            throw refuse(where + "." + key, "expected a number, found " + (v == null ? "none" : v));
        }
        return v.asDouble();
    }

    /** Mistral's window (4096 when absent, as transformers defaults it); Qwen2's sliding layers are refused. */
    private int slidingWindow(String type) {
        if (type.equals("qwen2")) {
            if (bool("use_sliding_window", false)) {
                throw refuse("use_sliding_window", "sliding-window attention layers are not implemented");
            }
            JsonNode layers = c.get("layer_types");
            if (layers != null && layers.isArray()) {
                for (JsonNode l : layers) {
                    if (!l.asText().equals("full_attention")) {
                        throw refuse("layer_types", "only full_attention layers are implemented, found " + l);
                    }
                }
            }
            return 0;
        }
        if (type.equals("mistral")) {
            JsonNode w = c.get("sliding_window");
            return w == null ? MISTRAL_DEFAULT_WINDOW : w.isNull() ? 0 : positive("sliding_window", null);
        }
        return 0;
    }

    private Set<String> biased(String type) {
        Set<String> out = new LinkedHashSet<>();
        if (type.equals("qwen2")) {
            out.addAll(List.of("q_proj", "k_proj", "v_proj"));
        } else if (type.equals("llama")) {
            if (bool("attention_bias", false)) {
                out.addAll(List.of("q_proj", "k_proj", "v_proj", "o_proj"));
            }
            if (bool("mlp_bias", false)) {
                out.addAll(List.of("gate_proj", "up_proj", "down_proj"));
            }
        }
        return out;
    }

    private List<Integer> eosIds() {
        JsonNode v = c.get("eos_token_id");
        if (v == null || v.isNull()) {
            return List.of(2);
        }
        List<Integer> out = new ArrayList<>();
        for (JsonNode e : v.isArray() ? v : JSON.createArrayNode().add(v)) {
            if (!e.isIntegralNumber()) {
                throw refuse("eos_token_id", "expected an integer or a list of integers, found " + v);
            }
            out.add(e.asInt());
        }
        if (out.isEmpty()) {
            throw refuse("eos_token_id", "expected at least one id, found []");
        }
        return out;
    }

    private IllegalArgumentException refuse(String key, String why) {
        return new IllegalArgumentException(source + ": key '" + key + "': " + why);
    }

    private boolean present(String key) {
        JsonNode v = c.get(key);
        return v != null && !v.isNull() && !(v.isObject() && v.isEmpty());
    }

    private String text(String key, String dflt) {
        JsonNode v = c.get(key);
        return v == null || v.isNull() ? dflt : v.asText();
    }

    private int positive(String key, Integer dflt) {
        JsonNode v = c.get(key);
        if (v == null || v.isNull()) {
            if (dflt == null) {
                throw new IllegalArgumentException(source + ": missing key '" + key + "' (a positive integer)");
            }
            return dflt;
        }
        if (!v.isIntegralNumber() || v.asLong() < 1 || v.asLong() > Integer.MAX_VALUE) {
            throw refuse(key, "expected a positive integer, found " + v);
        }
        return v.asInt();
    }

    private Integer optionalId(String key, Integer dflt) {
        JsonNode v = c.get(key);
        if (v == null) {
            return dflt;
        }
        if (v.isNull()) {
            return null;
        }
        if (!v.isIntegralNumber()) {
            throw refuse(key, "expected an integer, found " + v);
        }
        return v.asInt();
    }

    private double number(String key, double dflt) {
        JsonNode v = c.get(key);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isNumber()) {
            throw refuse(key, "expected a number, found " + v);
        }
        return v.asDouble();
    }

    private boolean bool(String key, boolean dflt) {
        JsonNode v = c.get(key);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isBoolean()) {
            throw refuse(key, "expected true or false, found " + v);
        }
        return v.asBoolean();
    }
}
