package org.peft4j.job.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.peft4j.adapters.lamda.LamdaOptions;
import org.peft4j.adapters.model.llama.LlamaConfig;
import org.peft4j.adapters.plan.ParamPlan;

class ConfigLoaderTest {
    @TempDir
    Path tmp;

    String error(String hocon, String... sets) throws Exception {
        Path f = tmp.resolve("run.conf");
        Files.writeString(f, hocon);
        return assertThrows(IllegalArgumentException.class, () -> ConfigLoader.load(f.toString(), List.of(sets)))
                .getMessage();
    }

    @Test
    void defaultsLoadAndOverridesApplyInOrder() throws Exception {
        JobConfig c = ConfigLoader.load(
                null,
                List.of(
                        "train.rounds=7",
                        "adapter.targets=[q_proj, v_proj]",
                        "run.output=hdfs://nn:8020/runs/x",
                        "adapter.options={freeze_fraction=0.5}"));
        assertEquals(7, c.train().rounds());
        assertEquals(List.of("q_proj", "v_proj"), c.adapter().targets());
        assertEquals("hdfs://nn:8020/runs/x", c.run().output());
        assertEquals(0.5, ((LamdaOptions) c.adapter().options()).freezeFraction());
        assertEquals("lamda", c.adapter().method().name());
        assertEquals(8.0, c.adapter().alpha(), "alpha null means alpha = rank");
        assertEquals("conf/samples/commonsense_eval.json", c.data().evalPath());
        assertTrue(c.rendered().contains("rounds=7"), c.rendered());
        Path f = tmp.resolve("a.conf");
        Files.writeString(f, "peft4j { train.rounds = 3, data.eval.path = null }");
        JobConfig fromFile = ConfigLoader.load(f.toString(), List.of());
        assertEquals(3, fromFile.train().rounds());
        assertNull(fromFile.data().evalPath());
        assertEquals(
                9,
                ConfigLoader.load(f.toString(), List.of("train.rounds=9"))
                        .train()
                        .rounds(),
                "--set wins");
    }

    @Test
    void systemPropertiesOverrideTheFileAndSetOverridesThem() throws Exception {
        Path f = tmp.resolve("b.conf");
        Files.writeString(f, "peft4j.train.rounds = 3");
        System.setProperty("peft4j.train.rounds", "11");
        try {
            assertEquals(11, ConfigLoader.load(f.toString(), List.of()).train().rounds());
            assertEquals(
                    12,
                    ConfigLoader.load(f.toString(), List.of("train.rounds=12"))
                            .train()
                            .rounds());
        } finally {
            System.clearProperty("peft4j.train.rounds");
        }
    }

    @Test
    void unknownKeysNameTheNearestValidOne() throws Exception {
        String e = error("peft4j {\n  train {\n    round = 3\n  }\n}\n");
        assertTrue(e.endsWith("line 3: unknown key peft4j.train.round (did you mean peft4j.train.rounds?)"), e);
        assertTrue(error("spark.master = local").contains("unknown top-level key 'spark'"));
        assertTrue(error("peft4j.data.train = [{dataset = commonsense, path = x, wieght = 2}]")
                .contains("unknown key peft4j.data.train[0].wieght (did you mean weight?)"));
    }

    @Test
    void wrongTypesAndRangesNameKeyExpectedAndFound() throws Exception {
        String e = error("peft4j.adapter.rank = eight");
        assertTrue(e.endsWith("line 1: peft4j.adapter.rank: expected an integer in [1, 65536], found \"eight\""), e);
        assertTrue(error("peft4j.train.lr = -1")
                .contains("peft4j.train.lr: expected a number in [0.0, 10.0]," + " found -1"));
        assertTrue(error("peft4j.adapter.method = lamdda")
                .contains("expected one of [lora, lamda, lamda++, neat]," + " found 'lamdda' (did you mean 'lamda'?)"));
        assertTrue(error("peft4j.data.train = [{dataset = comonsense, path = x}]")
                .contains("unknown dataset 'comonsense' (did you mean 'commonsense'?)"));
        assertTrue(error("", "adapter.options={freeze=sometimes}").startsWith("peft4j.adapter: "));
        assertTrue(error("peft4j.adapter.targets = q_proj").contains("expected a list of strings"));
        assertTrue(error("peft4j.data { task = sequence }").contains("needs GLUE sources"));
    }

    @Test
    void everyShippedConfigurationLoads() throws Exception {
        Path root = Path.of(System.getProperty("peft4jtest.repo.root", ".."));
        JobConfig quick = ConfigLoader.load(root.resolve("conf/quickstart.conf").toString(), List.of());
        assertEquals("builtin:arith-llama", quick.model().path());
        LlamaConfig llama2 = LlamaConfig.parse(
                Files.readAllBytes(root.resolve("conf/model-configs/llama-2-7b.json")), "llama-2-7b.json");
        List<Path> examples;
        try (var files = Files.list(root.resolve("conf/examples"))) {
            examples =
                    files.filter(f -> f.toString().endsWith(".conf")).sorted().toList();
        }
        assertEquals(8, examples.size(), examples.toString());
        for (Path f : examples) {
            JobConfig c = ConfigLoader.load(f.toString(), List.of());
            // Validated as a run on LLaMA-2-7B would be: ranks, targets and layers against the model's shapes
            // (LaMDA++'s counts need the weights' spectra; its rank budget is LaMDA's).
            if (!c.adapter().method().name().equals("lamda++")) {
                assertTrue(ParamPlan.of(llama2, c.adapter()).trainable() > 0, f.toString());
            }
            assertTrue(c.data().batchRows() % c.data().microBatchRows() == 0, f.toString());
        }
        // The LLM-Adapters recipes as users run them: batch 16 over micro-batches of 4, 3 epochs, lr 3e-4,
        // val_set_size 120, dropout 0.05, the best eval_loss kept, 4 beams; 32 new tokens for commonsense, 256 math.
        for (String name : List.of(
                "commonsense-lamda",
                "commonsense-lora",
                "commonsense-neat",
                "metamath-lamda",
                "metamath-lora",
                "metamath-neat")) {
            JobConfig c = ConfigLoader.load(
                    root.resolve("conf/examples/" + name + ".conf").toString(), List.of());
            assertEquals(16, c.data().batchRows(), name);
            assertEquals(4, c.data().microBatchRows(), name);
            assertEquals(3.0, c.train().epochs(), name);
            assertNull(c.train().rounds(), name);
            assertEquals(3e-4, c.train().lr(), name);
            assertEquals(120.0, c.data().evalSplit(), name);
            assertNull(c.data().evalPath(), name);
            assertEquals(0.05, c.adapter().dropout(), name);
            assertEquals(new JobConfig.Best("eval_loss", false), c.checkpoint().best(), name);
            assertEquals(4, c.eval().numBeams(), name);
            assertEquals(1.0, c.train().maxGradNorm(), name);
            assertTrue(c.data().trainOnInputs(), name + ": finetune.py trains on inputs by default");
            boolean math = name.startsWith("metamath");
            assertEquals(math ? 512 : 256, c.data().maxLength(), name);
            assertEquals(math ? 256 : 32, c.eval().maxNewTokens(c.data().evalDataset()), name);
            assertEquals(
                    name.substring(name.indexOf('-') + 1), c.adapter().method().name(), name);
        }
        JobConfig neatS = ConfigLoader.load(
                root.resolve("conf/examples/commonsense-neat.conf").toString(), List.of());
        assertEquals(4, neatS.adapter().layers().get(0), "Neat-S: adapters from layer 4 on");
        assertEquals(28, neatS.adapter().layers().size());
        assertEquals(
                28 * 5,
                ParamPlan.of(llama2, neatS.adapter()).rows().stream()
                        .mapToInt(ParamPlan.Row::count)
                        .sum());
        JobConfig mm = ConfigLoader.load(
                root.resolve("conf/examples/mixture-metamath-commonsense-neat.conf")
                        .toString(),
                List.of());
        assertEquals(2, mm.data().train().size());
        JobConfig sst = ConfigLoader.load(
                root.resolve("conf/examples/glue-sst2-lamdapp.conf").toString(), List.of());
        assertTrue(sst.data().sequenceTask());
        assertEquals("lamda++", sst.adapter().method().name());
        String e = assertThrows(
                        IllegalArgumentException.class,
                        () -> ParamPlan.of(llama2, neatS.adapter().withDropoutAndLayers(0, List.of(4, 32))))
                .getMessage();
        assertEquals("layers: expected layer indices in 0..31, found 32", e);
    }
}
