package org.peft4j.job.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.peft4j.adapters.linalg.Bf16;
import org.peft4j.adapters.model.TokenBatch;
import org.peft4j.adapters.model.llama.LlamaModel;
import org.peft4j.job.config.ConfigLoader;
import org.peft4j.job.testing.TestConfigs;

/** model.dtype: what auto resolves to and says, on this CPU and on one without bf16 instructions. */
class ModelDtypeTest {
    static final String LLAMA3 =
            TestConfigs.ROOT.resolve("adapters/src/test/resources/hf/llama3").toString();

    @Test
    void autoFollowsTheCheckpointAndFallsBackToFp32WithoutBf16Instructions() {
        assertEquals(DataType.FLOAT, ModelDtype.AUTO.resolve("float32", true).type());
        assertEquals(DataType.FLOAT, ModelDtype.AUTO.resolve(null, true).type(), "no dtype in config.json: float32");
        assertEquals(
                DataType.BFLOAT16, ModelDtype.AUTO.resolve("bfloat16", true).type());
        assertEquals(DataType.BFLOAT16, ModelDtype.AUTO.resolve("float16", true).type());
        ModelDtype.Resolved noBf16 = ModelDtype.AUTO.resolve("bfloat16", false);
        assertEquals(DataType.FLOAT, noBf16.type());
        assertEquals(
                "peft4j: model dtype float32 (auto: a bfloat16 checkpoint, but this CPU has no bf16 instructions"
                        + " (AVX512_BF16 or AMX), so float32)",
                noBf16.line());
        ModelDtype.Resolved forced = ModelDtype.BFLOAT16.resolve("float32", false);
        assertEquals(DataType.BFLOAT16, forced.type(), "asked for: still bf16, slower");
        assertTrue(forced.why().contains("slower, not wrong"), forced.why());
        assertEquals(
                DataType.FLOAT, ModelDtype.FLOAT32.resolve("bfloat16", true).type());
        var e = assertThrows(IllegalArgumentException.class, () -> ModelDtype.parse("half", "--dtype"));
        assertEquals("--dtype: expected one of [auto, float32, bfloat16], found 'half'", e.getMessage());
        assertEquals(ModelDtype.BFLOAT16, ModelDtype.parse("bf16", "x"));
    }

    @Test
    void anF32CheckpointUnderAutoComputesExactlyAsFloat32() throws Exception {
        LoadedModel auto = ModelLoader.load(LLAMA3 + "/f32", ModelDtype.AUTO);
        LoadedModel f32 = ModelLoader.load(LLAMA3 + "/f32", ModelDtype.FLOAT32);
        assertEquals(DataType.FLOAT, auto.model().weights().dataType());
        assertEquals(
                "peft4j: model dtype float32 (auto: the checkpoint is float32)",
                auto.dtype().line());
        int[] ids = {1, 5, 9, 200, 3, 7};
        int[] mask = new int[ids.length];
        Arrays.fill(mask, 1);
        TokenBatch b = new TokenBatch(1, ids.length, ids, mask, ids.clone(), null);
        assertArrayEquals(logits(f32.model(), b), logits(auto.model(), b));
    }

    @Test
    void aBf16CheckpointUnderAutoIsStoredInBf16WhereTheCpuComputesIt() throws Exception {
        LoadedModel m = ModelLoader.load(LLAMA3 + "/bf16", ModelDtype.AUTO);
        DataType expected = Bf16.fastOnThisCpu() ? DataType.BFLOAT16 : DataType.FLOAT;
        assertEquals(expected, m.model().weights().dataType(), m.dtype().line());
        assertEquals(DataType.FLOAT, m.model().linears().get(0).computeType());
    }

    @Test
    void theConfigurationAndTheCommandLineSetIt() throws Exception {
        assertEquals(
                ModelDtype.AUTO,
                ConfigLoader.load(null, List.of("train.rounds=1")).model().dtype());
        assertEquals(
                ModelDtype.BFLOAT16,
                ConfigLoader.load(null, List.of("train.rounds=1", "model.dtype=bfloat16"))
                        .model()
                        .dtype());
        var e = assertThrows(
                IllegalArgumentException.class,
                () -> ConfigLoader.load(null, List.of("train.rounds=1", "model.dtype=bf16")));
        assertTrue(
                e.getMessage().contains("peft4j.model.dtype: expected one of [auto, float32, bfloat16]"),
                e.getMessage());
    }

    @Test
    void aSyntheticModelHasTheConfigsShapeTheSameWeightsEverywhereAndRefusesATooSmallVocabulary() throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("synthetic");
        String json = "{\"model_type\": \"llama\", \"hidden_size\": 64, \"intermediate_size\": 96,"
                + " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 2,"
                + " \"max_position_embeddings\": 512, \"vocab_size\": %d, \"rms_norm_eps\": 1e-5,"
                + " \"torch_dtype\": \"float32\"}";
        java.nio.file.Path ok = java.nio.file.Files.writeString(dir.resolve("ok.json"), String.format(json, 300));
        LoadedModel a = ModelLoader.load("synthetic:" + ok, ModelDtype.AUTO);
        LoadedModel b = ModelLoader.load("synthetic:" + ok, ModelDtype.AUTO);
        assertEquals(64, a.model().config().hiddenSize());
        assertEquals(14, a.model().linears().size());
        int[] ids = {1, 5, 9, 200, 3, 7};
        int[] mask = new int[ids.length];
        Arrays.fill(mask, 1);
        TokenBatch batch = new TokenBatch(1, ids.length, ids, mask, ids.clone(), null);
        assertArrayEquals(logits(a.model(), batch), logits(b.model(), batch));
        java.nio.file.Path small = java.nio.file.Files.writeString(dir.resolve("small.json"), String.format(json, 100));
        var e = assertThrows(
                IllegalArgumentException.class, () -> ModelLoader.load("synthetic:" + small, ModelDtype.AUTO));
        assertTrue(e.getMessage().startsWith(small + ": vocab_size 100 is below"), e.getMessage());
    }

    /** The final hidden states, and the loss's bits: the head's product comes after them. */
    private static float[] logits(LlamaModel m, TokenBatch b) {
        float[] h = m.forward(b, false).dup().data().asFloat();
        float[] out = Arrays.copyOf(h, h.length + 1);
        out[h.length] = (float) m.causalLm(b, false).mean();
        return out;
    }
}
