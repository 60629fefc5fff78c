package org.peft4j.adapters.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.peft4j.adapters.Fixtures;
import org.peft4j.adapters.core.AdapterInjector;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.core.AdapterSpec;
import org.peft4j.adapters.core.TargetLinear;
import org.peft4j.adapters.model.llama.LlamaConfig;
import org.peft4j.adapters.registry.AdapterMethods;

class ParamPlanTest {
    static final String LLAMA2_7B = """
            {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32, "num_attention_heads": 32,
             "num_key_value_heads": 32, "vocab_size": 32000, "tie_word_embeddings": false, "rms_norm_eps": 1e-05}""";

    private static LlamaConfig config(String json) {
        return LlamaConfig.parse(json.getBytes(StandardCharsets.UTF_8), "config.json");
    }

    @Test
    void llama2SevenBMatchesThePublishedCounts() {
        LlamaConfig c = config(LLAMA2_7B);
        assertEquals(6_738_415_616L, c.parameterCount());
        ParamPlan lora =
                ParamPlan.of(c, AdapterMethods.spec("lora", 32, null, AdapterSpec.DEFAULT_TARGETS, 0, Map.of()));
        assertEquals(56_098_816L, lora.trainable());
        assertEquals(6_738_415_616L, lora.total());
        ParamPlan lamda = ParamPlan.of(c, AdapterMethods.spec("lamda", 64, null, AdapterSpec.MODULES, 0, Map.of()));
        assertEquals(917_504L, lamda.trainableAfterFreeze());
        assertEquals(917_504L + 64L * 32 * (4096 * 5 + 11008 * 2), lamda.trainable());
        assertTrue(
                lora.peftLine()
                        .startsWith("trainable params: 56,098,816 || all params: 6,794,514,432 || trainable%: 0.8256"),
                lora.peftLine());
    }

    /** The formulas agree with the declarations of real injected adapters on a GQA model. */
    @Test
    void planEqualsInjectedAdapterCounts() {
        LlamaConfig c = config("""
                {"model_type": "llama", "hidden_size": 16, "intermediate_size": 40, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "num_key_value_heads": 2, "vocab_size": 50, "tie_word_embeddings": true}""");
        for (var cs : List.of(
                new Fixtures.Case("lora", Map.of()),
                new Fixtures.Case("lamda", Map.of()),
                new Fixtures.Case("neat", Map.of("depth", "4")),
                new Fixtures.Case("neat", Map.of("orientation", "columns")))) {
            AdapterSpec spec = AdapterMethods.spec(cs.method(), 4, null, AdapterSpec.MODULES, 0, cs.options());
            List<TargetLinear> layers = new ArrayList<>();
            for (int l = 0; l < c.numHiddenLayers(); l++) {
                for (String m : AdapterSpec.MODULES) {
                    int[] s = c.moduleShape(m);
                    layers.add(Fixtures.layer("model.layers." + l + ".x." + m, s[0], s[1], DataType.FLOAT, l));
                }
            }
            AdapterSet set = AdapterInjector.inject(layers, spec);
            ParamPlan plan = ParamPlan.of(c, spec);
            assertEquals(plan.trainable(), set.trainableCount(), cs.toString());
            set.setTotalSteps(10);
            set.onStep(9);
            assertEquals(plan.trainableAfterFreeze(), set.trainableCount(), cs + " after freeze");
        }
    }

    @Test
    void badConfigsAndLamdaPlusPlusSayWhy() {
        var missing = assertThrows(
                IllegalArgumentException.class, () -> config("{\"model_type\": \"llama\", \"hidden_size\": 8}"));
        assertEquals("config.json: missing key 'num_attention_heads' (a positive integer)", missing.getMessage());
        var type = assertThrows(IllegalArgumentException.class, () -> config(LLAMA2_7B.replace("32000", "\"big\"")));
        assertEquals("config.json: key 'vocab_size': expected a positive integer, found \"big\"", type.getMessage());
        var pp = assertThrows(
                IllegalArgumentException.class,
                () -> ParamPlan.of(
                        config(LLAMA2_7B),
                        AdapterMethods.spec("lamda++", 8, null, AdapterSpec.DEFAULT_TARGETS, 0, Map.of())));
        assertTrue(pp.getMessage().contains("needs the weights"), pp.getMessage());
        var rank = assertThrows(
                IllegalArgumentException.class,
                () -> ParamPlan.of(
                        config(LLAMA2_7B), AdapterMethods.spec("lora", 5000, null, List.of("q_proj"), 0, Map.of())));
        assertEquals("module q_proj: rank must be <= min(d_in, d_out) = 4096, found 5000", rank.getMessage());
    }
}
