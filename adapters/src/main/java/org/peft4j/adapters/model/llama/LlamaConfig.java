package org.peft4j.adapters.model.llama;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.List;
import java.util.Set;
import org.peft4j.adapters.core.AdapterSpec;

/**
 * A LLaMA-family model's architecture as read from a Hugging Face {@code config.json} by {@link HfConfigReader}
 * (LLaMA 2/3/3.1/3.2, Mistral, Qwen2/2.5; transformers 4 and 5 layouts): the one place those names map to Java.
 *
 * @param modelType llama, mistral or qwen2
 * @param headDim {@code head_dim} if given, else hidden_size / num_attention_heads
 * @param numKeyValueHeads {@code num_key_value_heads}, default num_attention_heads (no GQA)
 * @param slidingWindow Mistral's attention window in tokens; 0 for none (longer sequences are refused, not run)
 * @param biased the linear modules that carry a bias (Qwen2's q/k/v; LLaMA's attention_bias and mlp_bias)
 * @param bosTokenId null when the model has none (Qwen2)
 * @param eosTokenIds every end-of-sequence id (LLaMA 3 lists several); generation stops at any
 * @param dtype the checkpoint's {@code dtype} / {@code torch_dtype}, or null
 */
public record LlamaConfig(
        String modelType,
        int hiddenSize,
        int intermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        int headDim,
        int vocabSize,
        boolean tieWordEmbeddings,
        double rmsNormEps,
        RopeScaling rope,
        int maxPositionEmbeddings,
        int slidingWindow,
        Set<String> biased,
        Integer bosTokenId,
        List<Integer> eosTokenIds,
        Integer padTokenId,
        String dtype) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public LlamaConfig {
        if (numAttentionHeads % numKeyValueHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads (" + numAttentionHeads
                    + ") must be a multiple of num_key_value_heads (" + numKeyValueHeads + ")");
        }
        biased = Set.copyOf(biased);
        eosTokenIds = List.copyOf(eosTokenIds);
    }

    /** A plain LLaMA (no biases, no sliding window, BOS 1, EOS 2): the built-in and synthetic models. */
    public static LlamaConfig llama(
            int hidden,
            int intermediate,
            int layers,
            int heads,
            int kvHeads,
            int headDim,
            int vocab,
            boolean tied,
            double eps,
            double ropeTheta,
            int maxPositions) {
        return new LlamaConfig(
                "llama",
                hidden,
                intermediate,
                layers,
                heads,
                kvHeads,
                headDim,
                vocab,
                tied,
                eps,
                RopeScaling.plain(ropeTheta),
                maxPositions,
                0,
                Set.of(),
                1,
                List.of(2),
                null,
                null);
    }

    /** Reads a {@code config.json}; see {@link HfConfigReader} for what is accepted and what is refused. */
    public static LlamaConfig parse(byte[] json, String source) {
        return HfConfigReader.read(json, source);
    }

    /** The first end-of-sequence id (what a tokenizer appends). */
    public int eosTokenId() {
        return eosTokenIds.get(0);
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

    /** Parameters of the base model: embeddings, per layer 7 linears (and biases) and 2 norms, final norm, LM head. */
    public long parameterCount() {
        long perLayer = 2L * hiddenSize;
        for (String m : AdapterSpec.MODULES) {
            int[] s = moduleShape(m);
            perLayer += (long) s[0] * s[1] + (biased.contains(m) ? s[1] : 0);
        }
        long embed = (long) vocabSize * hiddenSize;
        return embed + (tieWordEmbeddings ? 0 : embed) + numHiddenLayers * perLayer + hiddenSize;
    }

    /**
     * This config as a transformers 5 {@code config.json} for {@code LlamaForCausalLM} (the built-in model, which
     * has no file of its own; a merge of a model read from disk keeps that model's file).
     */
    public byte[] toHfJson() {
        if (!modelType.equals("llama") || !biased.isEmpty() || rope.type() != RopeScaling.Type.DEFAULT) {
            throw new IllegalStateException("only a plain LLaMA config is written from scratch");
        }
        ObjectNode o = JSON.createObjectNode();
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
        ObjectNode rp = o.putObject("rope_parameters");
        rp.put("rope_type", "default");
        rp.put("rope_theta", rope.theta());
        o.put("max_position_embeddings", maxPositionEmbeddings);
        o.put("bos_token_id", bosTokenId);
        o.put("eos_token_id", eosTokenId());
        o.put("hidden_act", "silu");
        o.put("attention_bias", false);
        o.put("mlp_bias", false);
        o.put("dtype", "float32");
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(o);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
