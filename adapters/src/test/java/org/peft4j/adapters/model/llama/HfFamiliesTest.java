package org.peft4j.adapters.model.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.io.LocalModelFiles;
import org.peft4j.adapters.io.Safetensors;
import org.peft4j.adapters.model.TokenBatch;

/**
 * Every supported family as transformers 5.18 saves it ({@code src/test/python/hf_reference.py}): logits and loss
 * equal those transformers computes, from the F32 file and from the BF16 shards; what is not implemented is refused
 * with the file and key named.
 */
class HfFamiliesTest {
    static final double TOLERANCE = 1e-4;

    static Path hf(String name) {
        try {
            return Path.of(HfFamiliesTest.class.getResource("/hf/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static Map<String, INDArray> expected(String family) throws IOException {
        Path p = hf(family).resolve("expected.safetensors");
        return Safetensors.read(Files.readAllBytes(p), p.toString());
    }

    static TokenBatch batch(Map<String, INDArray> e) {
        return ModelGoldens.batch(e);
    }

    static double worstLogitError(LlamaModel model, TokenBatch batch, INDArray want) {
        return ModelGoldens.worstLogitError(model, batch, want);
    }

    static LlamaModel load(String family, String variant) throws IOException {
        return new LlamaModel(LlamaWeights.load(new LocalModelFiles(hf(family).resolve(variant)), DataType.FLOAT));
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama2", "llama3", "llama31", "llama31-tf4", "llama32", "mistral", "qwen2", "llama-bias"})
    void logitsAndLossEqualTransformersFromF32AndFromBf16Shards(String family) throws IOException {
        Map<String, INDArray> e = expected(family);
        TokenBatch batch = batch(e);
        for (String variant : List.of("f32", "bf16")) {
            LlamaModel model = load(family, variant);
            double worst = worstLogitError(model, batch, e.get("logits_" + variant));
            assertTrue(worst < TOLERANCE, family + "/" + variant + ": max abs logit error " + worst);
            assertEquals(
                    e.get("loss_" + variant).getDouble(0),
                    model.causalLm(batch, false).mean(),
                    TOLERANCE,
                    family + "/" + variant + " loss");
        }
    }

    @Test
    void eachFamilyIsReadAsTransformersReadsIt() throws IOException {
        LlamaConfig llama2 = load("llama2", "f32").config();
        assertEquals(RopeScaling.plain(10000.0), llama2.rope());
        LlamaConfig llama3 = load("llama3", "f32").config();
        assertEquals(500000.0, llama3.rope().theta(), "rope_theta under rope_parameters");
        assertEquals(List.of(2, 3), llama3.eosTokenIds());
        LlamaConfig llama31 = load("llama31", "f32").config();
        assertEquals(new RopeScaling(RopeScaling.Type.LLAMA3, 500000.0, 8.0, 1.0, 4.0, 64), llama31.rope());
        assertEquals(llama31.rope(), load("llama31-tf4", "f32").config().rope(), "both layouts, the same rope");
        assertTrue(load("llama32", "f32").config().tieWordEmbeddings());
        LlamaConfig mistral = load("mistral", "f32").config();
        assertEquals("mistral", mistral.modelType());
        assertEquals(4096, mistral.slidingWindow());
        LlamaConfig qwen = load("qwen2", "f32").config();
        assertEquals(Set.of("q_proj", "k_proj", "v_proj"), qwen.biased());
        assertEquals(1000000.0, qwen.rope().theta());
        assertEquals(null, qwen.bosTokenId());
        LlamaConfig bias = load("llama-bias", "f32").config();
        assertEquals(
                Set.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"), bias.biased());
        assertEquals(8, bias.headDim(), "head_dim given, not hidden / heads = 16");
        assertEquals(RopeScaling.Type.LINEAR, bias.rope().type());
    }

    @Test
    void llama3RopeScalesLowFrequenciesKeepsHighOnesAndBlendsBetween() {
        RopeScaling r = new RopeScaling(RopeScaling.Type.LLAMA3, 500000.0, 8.0, 1.0, 4.0, 64);
        double[] plain = RopeScaling.plain(500000.0).inverseFrequencies(16);
        double[] scaled = r.inverseFrequencies(16);
        assertEquals(plain[0], scaled[0], 0, "wavelength 2 pi < 64 / 4: kept");
        assertEquals(plain[7] / 8, scaled[7], 1e-18, "wavelength > 64: divided by the factor");
        boolean blended = false;
        for (int i = 0; i < 8; i++) {
            double wavelen = 2 * Math.PI / plain[i];
            if (wavelen >= 16 && wavelen <= 64) {
                double smooth = (64 / wavelen - 1) / 3;
                assertEquals((1 - smooth) * plain[i] / 8 + smooth * plain[i], scaled[i], 1e-15);
                blended = true;
            }
        }
        assertTrue(blended, "the golden's head_dim and context exercise the blended band too");
    }

    static String refusal(String configJson) {
        return assertThrows(
                        IllegalArgumentException.class,
                        () -> LlamaConfig.parse(configJson.getBytes(StandardCharsets.UTF_8), "m/config.json"))
                .getMessage();
    }

    static final String BASE = "\"hidden_size\": 32, \"intermediate_size\": 64, \"num_hidden_layers\": 1,"
            + " \"num_attention_heads\": 2, \"vocab_size\": 10";

    @Test
    void whatIsNotImplementedIsRefusedWithTheKeyNamed() {
        assertTrue(refusal("{\"model_type\": \"gemma\", " + BASE + "}")
                .startsWith("m/config.json: key 'model_type': expected one of [llama, mistral, qwen2], found 'gemma'"));
        for (String type : List.of("yarn", "dynamic", "longrope")) {
            String m = refusal("{\"model_type\": \"llama\", " + BASE + ", \"rope_parameters\": {\"rope_type\": \""
                    + type + "\", \"factor\": 2.0}}");
            assertTrue(
                    m.startsWith("m/config.json: key 'rope_parameters.rope_type': rope type '" + type
                            + "' is not implemented"),
                    m);
        }
        assertTrue(refusal("{\"model_type\": \"llama\", " + BASE + ", \"rope_scaling\": {\"type\": \"dynamic\","
                        + " \"factor\": 2.0}}")
                .startsWith("m/config.json: key 'rope_scaling.type': rope type 'dynamic'"));
        assertTrue(refusal("{\"model_type\": \"llama\", " + BASE + ", \"rope_parameters\": {\"rope_type\": \"llama3\","
                        + " \"factor\": 8.0, \"low_freq_factor\": 1.0}}")
                .contains("key 'rope_parameters.high_freq_factor': expected a number, found none"));
        assertTrue(refusal("{\"model_type\": \"llama\", " + BASE + ", \"rope_parameters\": {\"rope_type\": \"default\","
                        + " \"rope_theta\": 1e4, \"attention_factor\": 2.0}}")
                .contains("key 'rope_parameters.attention_factor'"));
        assertTrue(refusal("{\"model_type\": \"llama\", " + BASE + ", \"partial_rotary_factor\": 0.5}")
                .contains("key 'partial_rotary_factor': partial rotary embeddings are not implemented"));
        assertTrue(refusal("{\"model_type\": \"qwen2\", " + BASE + ", \"use_sliding_window\": true}")
                .contains("key 'use_sliding_window'"));
        assertTrue(refusal("{\"model_type\": \"qwen2\", " + BASE + ", \"layer_types\": [\"sliding_attention\"]}")
                .contains("key 'layer_types'"));
        assertTrue(refusal("{\"model_type\": \"llama\", " + BASE + ", \"attention_dropout\": 0.1}")
                .contains("key 'attention_dropout'"));
        assertTrue(refusal("{\"model_type\": \"llama\", " + BASE + ", \"hidden_act\": \"gelu\"}")
                .contains("key 'hidden_act'"));
        assertTrue(refusal("{\"model_type\": \"llama\", " + BASE + ", \"quantization_config\": {\"bits\": 4}}")
                .contains("key 'quantization_config'"));
    }

    @Test
    void aSequenceLongerThanMistralsWindowIsRefusedNotRunWithoutIt() throws IOException {
        LlamaConfig c = load("mistral", "f32").config();
        LlamaConfig narrow = new LlamaConfig(
                c.modelType(),
                c.hiddenSize(),
                c.intermediateSize(),
                c.numHiddenLayers(),
                c.numAttentionHeads(),
                c.numKeyValueHeads(),
                c.headDim(),
                c.vocabSize(),
                c.tieWordEmbeddings(),
                c.rmsNormEps(),
                c.rope(),
                c.maxPositionEmbeddings(),
                8,
                c.biased(),
                c.bosTokenId(),
                c.eosTokenIds(),
                c.padTokenId(),
                c.dtype());
        LlamaWeights w = LlamaWeights.load(new LocalModelFiles(hf("mistral").resolve("f32")), DataType.FLOAT);
        LlamaModel model = new LlamaModel(new LlamaWeights(narrow, w.embed(), w.layers(), w.finalNorm(), w.lmHead()));
        var e = assertThrows(IllegalArgumentException.class, () -> model.forward(batch(expected("mistral")), false));
        assertTrue(e.getMessage().contains("longer than the model's sliding_window of 8"), e.getMessage());
    }

    @Test
    void aBiasTheConfigDoesNotDeclareIsRefused(@org.junit.jupiter.api.io.TempDir Path tmp) throws IOException {
        for (String f : List.of("config.json", "model.safetensors")) {
            Files.copy(hf("qwen2").resolve("f32").resolve(f), tmp.resolve(f));
        }
        // The same checkpoint declared a LLaMA: its q/k/v biases would be silently dropped.
        String config = Files.readString(tmp.resolve("config.json")).replace("\"qwen2\"", "\"llama\"");
        Files.writeString(tmp.resolve("config.json"), config);
        var e = assertThrows(
                IllegalArgumentException.class, () -> LlamaWeights.load(new LocalModelFiles(tmp), DataType.FLOAT));
        assertTrue(
                e.getMessage()
                        .matches(".*tensor 'model[.]layers[.]0[.]self_attn[.][qkv]_proj[.]bias' is not part of a"
                                + " llama model as config[.]json describes it.*"),
                e.getMessage());
    }
}
