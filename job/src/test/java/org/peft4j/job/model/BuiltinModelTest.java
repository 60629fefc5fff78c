package org.peft4j.job.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.peft4j.adapters.io.ModelFiles;
import org.peft4j.adapters.model.llama.BuiltinModels;
import org.peft4j.job.eval.Perplexity;
import org.peft4j.job.testing.TestConfigs;

/**
 * {@code builtin:arith-llama} is what transformers trained and saved: its held-out perplexity here equals the one the
 * pretraining script computed with transformers (pretrain.json, written next to the weights), from the jar and from
 * the same files as a plain directory.
 */
class BuiltinModelTest {
    static final String DIR = "adapters/src/main/resources/org/peft4j/builtin/arith-llama";

    static JsonNode report(ModelFiles files) throws Exception {
        return new ObjectMapper().readTree(files.readAll("pretrain.json"));
    }

    static Perplexity.Result heldOut(LoadedModel m, JsonNode report) throws Exception {
        String text = new String(m.files().readAll("heldout.txt"), StandardCharsets.UTF_8);
        int block = report.path("heldout").path("block_size").asInt();
        return Perplexity.of(m.model(), m.tokenizer().encode(text), block, 4);
    }

    @Test
    void heldOutPerplexityInFloat32EqualsTransformers() throws Exception {
        LoadedModel m = ModelLoader.load(BuiltinModels.ARITH_LLAMA, ModelDtype.FLOAT32);
        JsonNode report = report(m.files());
        Perplexity.Result r = heldOut(m, report);
        JsonNode expected = report.path("heldout");
        assertEquals(expected.path("tokens").asLong(), r.tokens(), "the same tokens as transformers' tokenizer");
        assertEquals(expected.path("nll").asDouble(), r.nll(), 1e-4, "nll per token, transformers vs peft4j");
        // a pretrained model: far below a uniform guess over the vocabulary (log 860 = 6.8 nats)
        double uniform = Math.log(m.model().config().vocabSize());
        assertTrue(r.nll() < uniform / 2, "nll " + r.nll() + ", uniform " + uniform);
    }

    @Test
    void inBfloat16ItStaysClose() throws Exception {
        LoadedModel m = ModelLoader.load(BuiltinModels.ARITH_LLAMA, ModelDtype.BFLOAT16);
        Perplexity.Result r = heldOut(m, report(m.files()));
        assertEquals(report(m.files()).path("heldout").path("nll").asDouble(), r.nll(), 2e-2);
    }

    @Test
    void theSameFilesLoadAsAPlainHuggingFaceDirectory() throws Exception {
        LoadedModel jar = ModelLoader.load(BuiltinModels.ARITH_LLAMA, ModelDtype.FLOAT32);
        LoadedModel dir = ModelLoader.load(TestConfigs.ROOT.resolve(DIR).toString(), ModelDtype.FLOAT32);
        JsonNode report = report(jar.files());
        assertEquals(heldOut(jar, report).nll(), heldOut(dir, report).nll(), 0.0);
        // what the Spark driver reads: the config alone, the same as the loaded model's
        ModelLoader.Shape shape = ModelLoader.shape(BuiltinModels.ARITH_LLAMA, ModelDtype.FLOAT32);
        assertEquals(jar.model().config(), shape.config());
        assertEquals(report.path("parameters").asLong(), jar.model().config().parameterCount());
    }

    @Test
    void anUnknownBuiltInNamesTheOnesThereAre() {
        var e = assertThrows(
                IllegalArgumentException.class, () -> ModelLoader.load("builtin:nope", ModelDtype.FLOAT32));
        assertEquals(
                "unknown built-in model 'builtin:nope' (built in: builtin:arith-llama, builtin:tiny-llama)",
                e.getMessage());
    }
}
