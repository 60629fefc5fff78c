package org.peft4j.job.rounds;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.core.TargetLinear;
import org.peft4j.adapters.model.llama.TinyLlama;
import org.peft4j.datasets.Datasets;
import org.peft4j.datasets.batch.Batcher;
import org.peft4j.datasets.batch.ExampleTokenizer;
import org.peft4j.datasets.batch.TokenizedExample;
import org.peft4j.datasets.prompt.PromptTemplate;
import org.peft4j.datasets.read.BadRecords;
import org.peft4j.job.checkpoint.CheckpointStore;
import org.peft4j.job.config.ConfigLoader;
import org.peft4j.job.config.JobConfig;
import org.peft4j.job.state.AdapterState;
import org.peft4j.job.testing.AdapterStates;
import org.peft4j.job.worker.BatchPlan;
import org.peft4j.job.worker.RunSpec;
import org.peft4j.job.worker.Worker;
import org.peft4j.job.worker.WorkerCache;

/** The round loop in Spark local mode against single-process training, and its checkpoints. */
class RoundLoopTest extends LocalRounds {
    static Path data;

    @BeforeAll
    static void writeData() throws Exception {
        // 16 records of identical length: every batch then scores the same number of tokens.
        data = comparisons("train.json", 16, i -> i % 10, i -> (i * 7 + 3) % 10);
    }

    static JobConfig config(String output, String... sets) throws Exception {
        List<String> all = new ArrayList<>(List.of(
                "run.output=" + tmp.resolve(output),
                "data.train=[{dataset =" + " commonsense, path = \"" + data + "\"}]",
                "data.eval.path=null",
                "data.max_length=256",
                "data.batch_rows=4",
                "train.rounds=3",
                "train.local_steps=2",
                "train.lr=0.01",
                "checkpoint.every=0"));
        all.addAll(List.of(sets));
        return ConfigLoader.load(null, all);
    }

    /** Every record of the data file, tokenized and in shard order (what one executor holds). */
    static List<TokenizedExample> examples(JobConfig c) throws Exception {
        return examplesFrom(data.toString(), c);
    }

    static List<TokenizedExample> examplesFrom(String file, JobConfig c) throws Exception {
        ExampleTokenizer et = new ExampleTokenizer(
                new org.peft4j.datasets.tokenize.ByteTokenizer(),
                PromptTemplate.ALPACA,
                c.data().maxLength());
        List<TokenizedExample> out = new ArrayList<>();
        try (InputStream in = Files.newInputStream(Path.of(file));
                Datasets.RecordStream s = Datasets.instructions("commonsense", in, "t", BadRecords.failing())) {
            s.forEachRemaining(r -> out.add(et.causal(r)));
        }
        return TrainData.sorted(out);
    }

    @Test
    void oneExecutorEqualsSingleProcessTrainingBitForBit() throws Exception {
        JobConfig c = config("one", "spark.executors=1", "train.optimizer=sgd");
        RoundLoop.Outcome distributed = run(c);

        Worker w = Worker.build(RunSpec.fresh(c));
        BatchPlan plan = new BatchPlan(
                examples(c),
                4,
                w.model().tokenizer().padId(),
                c.run().seed(),
                0,
                c.data().groupByLength());
        for (long s = 0; s < c.train().totalSteps(); s++) {
            w.trainer().step(BatchPlan.toTokenBatch(plan.batch(s)), s, LrSchedule.at(c.train(), s));
        }
        AdapterStates.assertBitEqual(AdapterState.viewOf(w.adapters(), w.optimizer()), distributed.state());
        assertEquals(6, distributed.globalStep());
        Worker untrained = Worker.build(RunSpec.fresh(c));
        INDArray s0 = untrained
                .adapters()
                .params()
                .get("model.layers.0.self_attn.q_proj.lamda_S")
                .value();
        INDArray s1 = distributed.state().tensors().get("model.layers.0.self_attn.q_proj.lamda_S");
        assertTrue(s0.sub(s1).amaxNumber().doubleValue() > 1e-4, "S trained");
        double loss = (double) distributed.rounds().get(0).get("loss");
        assertTrue(loss > 0 && loss < 10, "round 0 loss " + loss);
    }

    @Test
    void twoExecutorsAveragingEveryStepEqualOneLargeBatch() throws Exception {
        JobConfig c = config(
                "two",
                "spark.executors=2",
                "train.optimizer=sgd",
                "train.local_steps=1",
                "train.rounds=4",
                "adapter.method=lora",
                "data.batch_rows=4",
                "train.lr=1.0",
                // Clipping is not linear: each executor would clip its half of the batch on its own.
                "train.max_grad_norm=null");
        List<TokenizedExample> all = examples(c).subList(0, 8);
        RoundLoop.Outcome distributed =
                RoundLoop.run(sc, c, new PrintStream(new ByteArrayOutputStream()), sc.parallelize(all, 2));

        Worker w = Worker.build(RunSpec.fresh(c));
        var big =
                BatchPlan.toTokenBatch(Batcher.pad(all, 8, w.model().tokenizer().padId()));
        for (long s = 0; s < 4; s++) {
            w.trainer().step(big, s, LrSchedule.at(c.train(), s));
        }
        AdapterState single = AdapterState.viewOf(w.adapters(), w.optimizer());
        double worst = 0;
        for (var e : single.tensors().entrySet()) {
            INDArray d = e.getValue().sub(distributed.state().tensors().get(e.getKey()));
            worst = Math.max(worst, d.amaxNumber().doubleValue());
        }
        INDArray b = distributed.state().tensors().get("model.layers.0.self_attn.q_proj.lora_B");
        double moved = b.amaxNumber().doubleValue();
        assertTrue(moved > 1e-3, "LoRA B moved off zero by " + moved + ": the test trains something");
        // Same sums in another order (two half-batch means vs one mean): equal up to float rounding.
        assertTrue(worst < 1e-4 * moved, "max difference " + worst + " for updates of " + moved);
    }

    @Test
    void baseWeightsStayBitIdenticalOnEveryExecutorAndTheDriver() throws Exception {
        JobConfig c = config("frozen", "spark.executors=2", "adapter.method=lora");
        run(c);
        List<TargetLinear> fresh = new org.peft4j.adapters.model.llama.LlamaModel(
                        TinyLlama.weights(org.nd4j.linalg.api.buffer.DataType.FLOAT))
                .linears();
        List<Worker> workers = WorkerCache.idle();
        assertFalse(workers.isEmpty(), "executor workers are cached across rounds");
        assertTrue(WorkerCache.built() >= workers.size());
        for (Worker w : workers) {
            List<TargetLinear> trained = w.model().model().linears();
            for (int i = 0; i < fresh.size(); i++) {
                assertArrayEquals(
                        fresh.get(i).weight().data().asFloat(),
                        trained.get(i).weight().data().asFloat(),
                        trained.get(i).path());
            }
            assertArrayEquals(
                    TinyLlama.weights(org.nd4j.linalg.api.buffer.DataType.FLOAT)
                            .embed()
                            .data()
                            .asFloat(),
                    w.model().model().weights().embed().data().asFloat());
        }
    }

    @Test
    void resumingAfterAnInterruptionEqualsTheUninterruptedRunBitForBit() throws Exception {
        String[] sets = {"spark.executors=2", "train.rounds=4", "checkpoint.every=1", "checkpoint.keep=10"};
        RoundLoop.Outcome straight = run(config("straight", sets));

        JobConfig c = config("interrupted", sets);
        run(c);
        // The crash: everything after round 2 (global step 4) is lost.
        Path ckpts = tmp.resolve("interrupted/checkpoints");
        org.peft4j.job.fs.Locations.deleteRecursively(
                ckpts.resolve(CheckpointStore.dirName(6)).toString());
        org.peft4j.job.fs.Locations.deleteRecursively(
                ckpts.resolve(CheckpointStore.dirName(8)).toString());
        org.peft4j.job.fs.Locations.deleteRecursively(
                tmp.resolve("interrupted/final").toString());
        RoundLoop.Outcome resumed = run(c);
        assertEquals(2, resumed.resumedFromRound());
        assertEquals(2, resumed.rounds().size(), "only rounds 3 and 4 ran again");
        AdapterStates.assertBitEqual(straight.state(), resumed.state());
        assertTrue(Files.isRegularFile(tmp.resolve("interrupted/final/adapter_model.safetensors")));
        List<String> metrics = Files.readAllLines(tmp.resolve("interrupted/metrics.jsonl"));
        assertTrue(metrics.size() >= 4, metrics.toString());
        assertTrue(new ObjectMapper().readTree(metrics.get(metrics.size() - 1)).has("tokens_per_s"));

        // Another configuration must not continue these checkpoints.
        JobConfig other = config("interrupted", sets[0], sets[1], sets[2], sets[3], "adapter.rank=4");
        var e = assertThrows(IllegalArgumentException.class, () -> run(other));
        assertTrue(e.getMessage().contains("peft4j.adapter.rank: checkpoint has 8, config has 4"), e.getMessage());
    }

    @Test
    void corruptOrPartialCheckpointsAreSkippedForThePreviousCompleteOne() throws Exception {
        JobConfig c = config(
                "corrupt",
                "spark.executors=1",
                "train.rounds=4",
                "checkpoint.every=1",
                "checkpoint.keep=3",
                "train.local_steps=1");
        run(c);
        Path ckpts = tmp.resolve("corrupt/checkpoints");
        try (var dirs = Files.list(ckpts)) {
            assertEquals(
                    List.of(CheckpointStore.dirName(2), CheckpointStore.dirName(3), CheckpointStore.dirName(4)),
                    dirs.map(p -> p.getFileName().toString()).sorted().toList(),
                    "keep = 3");
        }
        CheckpointStore store = new CheckpointStore(ckpts.toString(), 3);
        assertEquals(4, store.latest().orElseThrow().globalStep());
        Path newest = ckpts.resolve(CheckpointStore.dirName(4)).resolve("adapter_model.safetensors");
        byte[] b = Files.readAllBytes(newest);
        Files.write(newest, Arrays.copyOf(b, b.length - 10));
        assertEquals(3, store.latest().orElseThrow().globalStep(), "checksum mismatch: skipped");
        Files.delete(ckpts.resolve(CheckpointStore.dirName(3)).resolve(CheckpointStore.MANIFEST));
        assertEquals(2, store.latest().orElseThrow().globalStep(), "no manifest: incomplete, skipped");
        Map<String, byte[]> files = store.latest().orElseThrow().files();
        assertTrue(
                files.keySet()
                        .containsAll(List.of(
                                "adapter_config.json",
                                "adapter_model.safetensors",
                                "state.safetensors",
                                "trainer_state.json",
                                "run.conf")),
                files.keySet().toString());
        String trainer = new String(files.get("trainer_state.json"), StandardCharsets.UTF_8);
        assertTrue(trainer.contains("\"global_step\" : 2") && trainer.contains("fingerprint"), trainer);
    }

    @Test
    void glueSequenceHeadWithLamdaPlusPlusTrainsEvaluatesAndSavesTheHead() throws Exception {
        String sst2 = Path.of(System.getProperty("peft4jtest.repo.root", ".."))
                .resolve("datasets/src/test/resources/fixtures/glue/SST-2/train.tsv")
                .toString();
        JobConfig c = ConfigLoader.load(
                null,
                List.of(
                        "run.output=" + tmp.resolve("sst2"),
                        "data.task=sequence",
                        "data.train=[{dataset = glue-sst2, path = \"" + sst2 + "\"}]",
                        "data.eval.dataset=glue-sst2",
                        "data.eval.path=\"" + sst2 + "\"",
                        "adapter.method=lamda++",
                        "adapter.rank=4",
                        "train.rounds=2",
                        "train.local_steps=2",
                        "spark.executors=2",
                        "checkpoint.every=0",
                        "eval.every=1"));
        RoundLoop.Outcome o = run(c);
        assertEquals(2, o.rounds().size());
        assertEquals(20, ((Number) o.lastEval().get("eval_records")).intValue());
        double acc = (double) o.lastEval().get("eval_accuracy");
        assertTrue(acc >= 0 && acc <= 1, "accuracy " + acc);
        assertTrue(
                o.state().tensors().containsKey("score.weight"),
                o.state().tensors().keySet().toString());
        String cfg = Files.readString(tmp.resolve("sst2/final/adapter_config.json"));
        assertTrue(
                cfg.contains("modules_to_save") && cfg.contains("score.weight") && cfg.contains("rank_pattern"), cfg);
    }

    @Test
    void loraProductAggregationAveragesTheExecutorsUpdatesExactlyAndFactorsDoNot() throws Exception {
        for (String aggregation : List.of("product", "factors")) {
            JobConfig c = config(
                    "agg-" + aggregation,
                    "spark.executors=2",
                    "adapter.method=lora",
                    "adapter.options={aggregation = " + aggregation + "}",
                    "train.rounds=1",
                    "train.local_steps=2",
                    "train.lr=0.05");
            List<TokenizedExample> all = examples(c).subList(0, 8);
            RoundLoop.Outcome o =
                    RoundLoop.run(sc, c, new PrintStream(new ByteArrayOutputStream()), sc.parallelize(all, 2));
            RunSpec spec = RunSpec.fresh(c);
            byte[] s0 = AdapterState.viewOf(
                            Worker.build(spec).adapters(), Worker.build(spec).optimizer())
                    .toBytes();
            String q = "model.layers.1.self_attn.q_proj";
            INDArray expected = null;
            for (int p = 0; p < 2; p++) {
                Worker w = Worker.build(spec);
                AdapterState.fromBytes(s0, "s0").applyTo(w.adapters(), w.optimizer());
                BatchPlan plan = new BatchPlan(
                        all.subList(4 * p, 4 * p + 4),
                        4,
                        w.model().tokenizer().padId(),
                        c.run().seed(),
                        p,
                        c.data().groupByLength());
                for (long st = 0; st < 2; st++) {
                    w.trainer().step(BatchPlan.toTokenBatch(plan.batch(st)), st, LrSchedule.at(c.train(), st));
                }
                INDArray update = w.adapters()
                        .params()
                        .get(q + ".lora_A")
                        .value()
                        .mmul(w.adapters().params().get(q + ".lora_B").value());
                expected = expected == null ? update : expected.addi(update);
            }
            expected.divi(2); // equal shards, equal weights; s = alpha / r = 1
            INDArray actual = o.state()
                    .tensors()
                    .get(q + ".lora_A")
                    .mmul(o.state().tensors().get(q + ".lora_B"));
            if (aggregation.equals("product")) {
                actual.addi(o.state().tensors().get(q + ".lora_residual"));
            }
            double scale = expected.amaxNumber().doubleValue();
            double error = actual.sub(expected).amaxNumber().doubleValue();
            assertTrue(scale > 1e-4, "the round trained: " + scale);
            if (aggregation.equals("product")) {
                assertTrue(error < 1e-5 * scale, "product: error " + error + " of " + scale);
            } else {
                assertTrue(error > 1e-3 * scale, "factors are inexact: error " + error + " of " + scale);
            }
        }
    }
}
