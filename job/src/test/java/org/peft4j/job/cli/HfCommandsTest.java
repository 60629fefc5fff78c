package org.peft4j.job.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.io.AdapterCheckpoint;
import org.peft4j.adapters.io.Safetensors;
import org.peft4j.adapters.io.SafetensorsShards;
import org.peft4j.adapters.model.TokenBatch;
import org.peft4j.job.model.LoadedModel;
import org.peft4j.job.model.ModelLoader;
import org.peft4j.job.testing.TestConfigs;

/**
 * {@code export} and {@code merge} on model directories transformers saved and adapters PEFT reproduced
 * (adapters/src/test/resources/hf): exports equal what PEFT computed logits with; merges reload as the originals.
 */
class HfCommandsTest {
    static final Path HF = TestConfigs.ROOT.resolve("adapters/src/test/resources/hf");
    static final List<String> FAMILIES =
            List.of("llama2", "llama3", "llama31", "llama31-tf4", "llama32", "mistral", "qwen2", "llama-bias");

    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(List.of(args), new PrintStream(out), new PrintStream(err));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /**
     * The same tensor names, shapes and dtypes, and values equal to fp32 rounding: the export multiplies by W0 (Neat)
     * and takes W0's SVD (LaMDA's residual), whose BLAS and LAPACK kernels differ in the last bit from one CPU to
     * another (the goldens were written on an AMD EPYC; on an Intel Xeon with AVX-512 FP16 up to 4.9e-8 of a
     * tensor's largest element, measured, so the byte-for-byte comparison this replaces failed there).
     */
    static void assertSameTensors(Path want, Path got, String what) throws Exception {
        Map<String, INDArray> w = Safetensors.read(Files.readAllBytes(want), want.toString());
        Map<String, INDArray> g = Safetensors.read(Files.readAllBytes(got), got.toString());
        assertEquals(w.keySet(), g.keySet(), what + ": names");
        for (String k : w.keySet()) {
            INDArray a = w.get(k);
            INDArray b = g.get(k);
            assertEquals(a.dataType(), b.dataType(), what + ": " + k);
            assertArrayEquals(a.shape(), b.shape(), what + ": " + k);
            double scale = Math.max(a.amaxNumber().doubleValue(), 1e-30);
            double worst = a.castTo(DataType.DOUBLE)
                    .sub(b.castTo(DataType.DOUBLE))
                    .amaxNumber()
                    .doubleValue();
            assertTrue(worst <= 1e-6 * scale, what + ": " + k + " differs by " + worst + " of " + scale);
        }
    }

    @Test
    void exportWritesEachMethodAsTheLoraPeftReproduced() throws Exception {
        for (String name : List.of("lamda", "lamdapp", "neat-rows", "neat-columns")) {
            Path out = tmp.resolve(name);
            Run r = run(
                    "export",
                    "--adapter",
                    HF.resolve("peft4j/" + name + "/native").toString(),
                    "--out",
                    out.toString(),
                    "--model",
                    HF.resolve("llama3/f32").toString());
            assertEquals(0, r.code(), r.err());
            Path golden = HF.resolve("peft4j/" + name + "/adapter");
            assertSameTensors(
                    golden.resolve(AdapterCheckpoint.TENSORS),
                    out.resolve(AdapterCheckpoint.TENSORS),
                    name + ": the tensors PEFT's golden logits were computed with");
            ObjectMapper json = new ObjectMapper();
            JsonNode want =
                    json.readTree(golden.resolve(AdapterCheckpoint.CONFIG).toFile());
            JsonNode got = json.readTree(out.resolve(AdapterCheckpoint.CONFIG).toFile());
            ((com.fasterxml.jackson.databind.node.ObjectNode) want).remove("base_model_name_or_path");
            ((com.fasterxml.jackson.databind.node.ObjectNode) got).remove("base_model_name_or_path");
            assertEquals(want, got, name + ": adapter_config.json");
        }
        Run again = run(
                "export",
                "--adapter",
                HF.resolve("peft4j/lamda/native").toString(),
                "--out",
                tmp.resolve("lamda").toString(),
                "--model",
                HF.resolve("llama3/f32").toString());
        assertEquals(2, again.code());
        assertTrue(again.err().contains("already holds adapter_config.json; pass --overwrite"), again.err());
    }

    @Test
    void mergedDirectoriesOfEveryFamilyReloadAsTheOriginal() throws Exception {
        for (String family : FAMILIES) {
            Path source = HF.resolve(family).resolve("f32");
            Path out = tmp.resolve(family);
            Run r = run("merge", "--model", source.toString(), "--out", out.toString(), "--max-shard-size", "40KB");
            assertEquals(0, r.code(), r.err());
            assertArrayEquals(
                    Files.readAllBytes(source.resolve("config.json")),
                    Files.readAllBytes(out.resolve("config.json")),
                    family + ": config.json kept as it was");
            for (String f : MergeCommand.TOKENIZER_FILES) {
                if (Files.exists(source.resolve(f))) {
                    assertArrayEquals(
                            Files.readAllBytes(source.resolve(f)),
                            Files.readAllBytes(out.resolve(f)),
                            family + ": " + f + " copied");
                }
            }
            JsonNode index = new ObjectMapper()
                    .readTree(out.resolve(SafetensorsShards.INDEX).toFile());
            assertTrue(index.path("weight_map").size() > 0
                    && index.path("metadata").path("total_size").asLong() > 0);
            long shards;
            try (var files = Files.list(out)) {
                shards = files.filter(p -> p.getFileName().toString().matches("model-\\d{5}-of-\\d{5}\\.safetensors"))
                        .count();
            }
            assertTrue(shards > 1, family + ": sharded at 40KB, found " + shards + " shard(s)");
            assertEquals(hidden(source), hidden(out), family + ": the reloaded model computes the same bits");
        }
    }

    @Test
    void mergeInBf16RoundsAsTorchAndUpdatesOnlyTheDtype() throws Exception {
        Path out = tmp.resolve("bf16");
        Run r = run(
                "merge", "--model", HF.resolve("llama3/f32").toString(), "--out", out.toString(), "--dtype", "bf16");
        assertEquals(0, r.code(), r.err());
        JsonNode source =
                new ObjectMapper().readTree(HF.resolve("llama3/f32/config.json").toFile());
        JsonNode merged = new ObjectMapper().readTree(out.resolve("config.json").toFile());
        assertEquals("bfloat16", merged.get("dtype").asText());
        ((com.fasterxml.jackson.databind.node.ObjectNode) merged).put("dtype", "float32");
        assertEquals(source, merged, "nothing else in config.json changed");
        // torch's .to(bfloat16) wrote the golden BF16 shards from the same F32 weights: the same bits.
        Map<String, INDArray> ours = Safetensors.read(Files.readAllBytes(out.resolve("model.safetensors")), "ours");
        Map<String, INDArray> torch = new java.util.LinkedHashMap<>();
        try (var files = Files.list(HF.resolve("llama3/bf16"))) {
            for (Path p :
                    files.filter(p -> p.toString().endsWith(".safetensors")).toList()) {
                torch.putAll(Safetensors.read(Files.readAllBytes(p), p.toString()));
            }
        }
        assertEquals(torch.keySet(), ours.keySet());
        torch.forEach((k, v) -> assertArrayEquals(
                v.dup().data().asFloat(), ours.get(k).dup().data().asFloat(), k));
    }

    @Test
    void aMergedAdapterReproducesTheAdaptersLoss() throws Exception {
        Path adapter = HF.resolve("peft4j/lamda/native");
        Path base = HF.resolve("llama3/f32");
        LoadedModel withAdapter = ModelLoader.load(base.toString());
        ModelLoader.attachAdapter(withAdapter, adapter.toString());
        Path out = tmp.resolve("merged");
        Run r = run("merge", "--model", base.toString(), "--adapter", adapter.toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        LoadedModel merged = ModelLoader.load(out.toString());
        assertEquals(loss(withAdapter), loss(merged), 1e-4);
        assertTrue(Math.abs(loss(withAdapter) - loss(ModelLoader.load(base.toString()))) > 1e-3, "the adapter matters");
    }

    @Test
    void trainingStartsFromALoraPeftWroteAndRefusesOneItWasNotConfiguredFor() throws Exception {
        String dir = HF.resolve("peft/rslora").toString();
        List<String> sets = List.of(
                "model.path=\"" + HF.resolve("llama3/f32") + "\"",
                "adapter.method=lora",
                "adapter.rank=4",
                "adapter.targets=[q_proj, v_proj, down_proj]",
                "adapter.options={rslora = true}",
                "adapter.init_from=\"" + dir + "\"",
                "train.rounds=1");
        var w = org.peft4j.job.worker.Worker.build(org.peft4j.job.worker.RunSpec.fresh(
                org.peft4j.job.config.ConfigLoader.load(null, concat(sets, "adapter.alpha=6"))));
        Map<String, INDArray> peft = Safetensors.read(Files.readAllBytes(Path.of(dir, AdapterCheckpoint.TENSORS)), dir);
        INDArray a = peft.get("base_model.model.model.layers.1.mlp.down_proj.lora_A.weight");
        assertArrayEquals(
                a.transpose().dup().data().asFloat(),
                w.adapters()
                        .params()
                        .get("model.layers.1.mlp.down_proj.lora_A")
                        .value()
                        .dup()
                        .data()
                        .asFloat());
        var e = org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class,
                () -> org.peft4j.job.worker.Worker.build(org.peft4j.job.worker.RunSpec.fresh(
                        org.peft4j.job.config.ConfigLoader.load(null, concat(sets, "adapter.alpha=8")))));
        assertTrue(
                e.getMessage().contains("the adapter was not made by this configuration")
                        && e.getMessage().contains("lora_alpha, alpha_pattern, use_rslora"),
                e.getMessage());
    }

    @Test
    void aModelThatIsNotImplementedExitsTwoNamingFileAndKey() throws Exception {
        Path dir = tmp.resolve("yarn");
        Files.createDirectories(dir);
        try (var files = Files.list(HF.resolve("llama3/f32"))) {
            for (Path f : files.toList()) {
                Files.copy(f, dir.resolve(f.getFileName()));
            }
        }
        Path config = dir.resolve("config.json");
        Files.writeString(
                config,
                Files.readString(config)
                        .replace("\"rope_type\": \"default\"", "\"rope_type\": \"yarn\", \"factor\": 4.0"));
        Path text = Files.writeString(tmp.resolve("t.txt"), "hello world");
        Run r = run("perplexity", "--model", dir.toString(), "--text-file", text.toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(
                r.err()
                        .contains(
                                config + ": key 'rope_parameters.rope_type': rope type 'yarn' is not" + " implemented"),
                r.err());
    }

    static List<String> concat(List<String> a, String b) {
        List<String> out = new java.util.ArrayList<>(a);
        out.add(b);
        return out;
    }

    static TokenBatch batch() {
        int[] ids = new int[2 * 16];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = 4 + (i * 37) % 250;
        }
        int[] mask = new int[ids.length];
        Arrays.fill(mask, 1);
        return new TokenBatch(2, 16, ids, mask, ids.clone(), null);
    }

    static List<Float> hidden(Path dir) throws Exception {
        INDArray h = ModelLoader.load(dir.toString()).model().forward(batch(), false);
        List<Float> out = new java.util.ArrayList<>();
        for (float f : h.dup().data().asFloat()) {
            out.add(f);
        }
        return out;
    }

    static double loss(LoadedModel m) {
        return m.model().causalLm(batch(), false).mean();
    }
}
