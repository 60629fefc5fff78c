package org.peft4j.adapters.model.llama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import org.peft4j.adapters.core.AdapterSpec;

/**
 * A Hugging Face LLaMA-family {@code config.json}: the one place its names are mapped to Java.
 *
 * @param headDim {@code head_dim} if given, else hidden_size / num_attention_heads
 * @param numKeyValueHeads {@code num_key_value_heads}, default num_attention_heads (no GQA)
 */
public record LlamaConfig(
        int hiddenSize,
        int intermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        int headDim,
        int vocabSize,
        boolean tieWordEmbeddings,
        double rmsNormEps,
        double ropeTheta,
        int maxPositionEmbeddings,
        int bosTokenId,
        int eosTokenId) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public LlamaConfig {
        if (numAttentionHeads % numKeyValueHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads (" + numAttentionHeads
                    + ") must be a multiple of num_key_value_heads (" + numKeyValueHeads + ")");
        }
    }

    public static LlamaConfig parse(byte[] json, String source) {
        JsonNode c;
        try {
            c = JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException(source + ": not valid JSON: " + e.getMessage(), e);
        }
        if (c == null || !c.isObject()) {
            throw new IllegalArgumentException(source + ": expected a JSON object");
        }
        JsonNode act = c.get("hidden_act");
        if (act != null && !act.isNull() && !act.asText().equals("silu")) {
            throw new IllegalArgumentException(
                    source + ": key 'hidden_act': only silu (LLaMA's SwiGLU) is supported," + " found " + act);
        }
        JsonNode scaling = c.get("rope_scaling");
        if (scaling != null && !scaling.isNull()) {
            throw new IllegalArgumentException(source + ": key 'rope_scaling': rotary scaling (" + scaling
                    + ") is not supported; positions would be wrong, so this model is refused");
        }
        int hidden = positive(c, "hidden_size", null, source);
        int heads = positive(c, "num_attention_heads", null, source);
        int kv = positive(c, "num_key_value_heads", heads, source);
        return new LlamaConfig(
                hidden,
                positive(c, "intermediate_size", null, source),
                positive(c, "num_hidden_layers", null, source),
                heads,
                kv,
                positive(c, "head_dim", hidden / heads, source),
                positive(c, "vocab_size", null, source),
                bool(c, "tie_word_embeddings", false, source),
                number(c, "rms_norm_eps", 1e-6, source),
                number(c, "rope_theta", 10000.0, source),
                positive(c, "max_position_embeddings", 2048, source),
                optionalInt(c, "bos_token_id", 1, source),
                optionalInt(c, "eos_token_id", 2, source));
    }

    /** This config as a Hugging Face {@code config.json} for {@code LlamaForCausalLM}. */
    public byte[] toHfJson() {
        var o = JSON.createObjectNode();
        o.putArray("architectures").add("LlamaForCausalLM");
        o.put("model_type", "llama");
        o.put("hidden_size", hiddenSize);
        o.put("intermediate_size", intermediateSize);
        o.put("num_hidden_layers", numHiddenLayers);
        o.put("num_attention_heads", numAttentionHeads);
        o.put("num_key_value_heads", numKeyValueHeads);
        o.put("head_dim", headDim);
        o.put("vocab_size", vocabSize);
        o.put("tie_word_embeddings", tieWordEmbeddings);
        o.put("rms_norm_eps", rmsNormEps);
        o.put("rope_theta", ropeTheta);
        o.put("max_position_embeddings", maxPositionEmbeddings);
        o.put("bos_token_id", bosTokenId);
        o.put("eos_token_id", eosTokenId);
        o.put("hidden_act", "silu");
        o.put("torch_dtype", "float32");
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(o);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Input x output shape of each of the seven linear modules, in this project's y = x W layout. */
    public int[] moduleShape(String module) {
        int q = numAttentionHeads * headDim;
        int kv = numKeyValueHeads * headDim;
        return switch (module) {
            case "q_proj" -> new int[] {hiddenSize, q};
            case "k_proj", "v_proj" -> new int[] {hiddenSize, kv};
            case "o_proj" -> new int[] {q, hiddenSize};
            case "gate_proj", "up_proj" -> new int[] {hiddenSize, intermediateSize};
            case "down_proj" -> new int[] {intermediateSize, hiddenSize};
            default -> throw new IllegalArgumentException("unknown module " + module);
        };
    }

    /** Parameters of the base model: embeddings, per layer 7 linears and 2 norms, final norm, LM head unless tied. */
    public long parameterCount() {
        long perLayer = 2L * hiddenSize;
        for (String m : AdapterSpec.MODULES) {
            int[] s = moduleShape(m);
            perLayer += (long) s[0] * s[1];
        }
        long embed = (long) vocabSize * hiddenSize;
        return embed + (tieWordEmbeddings ? 0 : embed) + numHiddenLayers * perLayer + hiddenSize;
    }

    private static int positive(JsonNode c, String key, Integer dflt, String source) {
        JsonNode v = c.get(key);
        if (v == null || v.isNull()) {
            if (dflt == null) {
                throw new IllegalArgumentException(source + ": missing key '" + key + "' (a positive integer)");
            }
            return dflt;
        }
        if (!v.isIntegralNumber() || v.asLong() < 1 || v.asLong() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(source + ": key '" + key + "': expected a positive integer, found " + v);
        }
        return v.asInt();
    }

    private static int optionalInt(JsonNode c, String key, int dflt, String source) {
        JsonNode v = c.get(key);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (v.isArray() && v.size() > 0 && v.get(0).isIntegralNumber()) {
            return v.get(0).asInt(); // LLaMA-3 lists several EOS ids; the first is the canonical one
        }
        if (!v.isIntegralNumber()) {
            throw new IllegalArgumentException(source + ": key '" + key + "': expected an integer, found " + v);
        }
        return v.asInt();
    }

    private static double number(JsonNode c, String key, double dflt, String source) {
        JsonNode v = c.get(key);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isNumber()) {
            throw new IllegalArgumentException(source + ": key '" + key + "': expected a number, found " + v);
        }
        return v.asDouble();
    }

    private static boolean bool(JsonNode c, String key, boolean dflt, String source) {
        JsonNode v = c.get(key);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isBoolean()) {
            throw new IllegalArgumentException(source + ": key '" + key + "': expected true or false, found " + v);
        }
        return v.asBoolean();
    }
}
