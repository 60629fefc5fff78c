package org.peft4j.job.rounds;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.peft4j.datasets.batch.ExampleTokenizer;
import org.peft4j.datasets.prompt.PromptTemplate;
import org.peft4j.datasets.record.InstructionRecord;
import org.peft4j.datasets.tokenize.ByteTokenizer;
import org.peft4j.job.checkpoint.BestAdapter;
import org.peft4j.job.checkpoint.CheckpointStore;
import org.peft4j.job.checkpoint.RunLayout;
import org.peft4j.job.config.ConfigLoader;
import org.peft4j.job.config.JobConfig;
import org.peft4j.job.eval.EvalRecords;
import org.peft4j.job.eval.Evaluator;
import org.peft4j.job.fs.Locations;
import org.peft4j.job.model.ModelLoader;
import org.peft4j.job.testing.AdapterStates;
import org.peft4j.job.worker.RunSpec;
import org.peft4j.job.worker.Worker;

/** The recipe keys on the real round loop: the validation split, the best adapter, and resume with all of them. */
class TrainerRecipeTest extends LocalRounds {
    static final ObjectMapper JSON = new ObjectMapper();
    static Path data;

    @BeforeAll
    static void writeData() throws Exception {
        data = comparisons("train.json", 24, i -> i, i -> 23 - i); // 24 distinct records
    }

    static JobConfig config(String output, String... sets) throws Exception {
        List<String> all = new ArrayList<>(List.of(
                "run.output=" + tmp.resolve(output),
                "data.train=[{dataset = commonsense, path = \"" + data + "\"}]",
                "data.eval.path=null",
                "data.eval.max_records=100",
                "data.batch_rows=4",
                "train.rounds=3",
                "train.local_steps=2",
                "train.lr=0.01",
                "spark.executors=2",
                "checkpoint.every=0",
                "eval.max_new_tokens=2"));
        all.addAll(List.of(sets));
        return ConfigLoader.load(null, all);
    }

    /** The training examples of a prepared run, as token-id strings. */
    static Set<String> trained(TrainData.Prepared p) {
        Set<String> out = new HashSet<>();
        p.shards().collect().forEach(e -> out.add(Arrays.toString(e.ids())));
        p.shards().unpersist();
        return out;
    }

    static String ids(JobConfig c, InstructionRecord r) {
        return Arrays.toString(new ExampleTokenizer(
                        new ByteTokenizer(), PromptTemplate.ALPACA, c.data().maxLength())
                .causal(r)
                .ids());
    }

    static TrainData.Prepared prepare(JobConfig c) {
        return TrainData.prepare(sc, sc.broadcast(RunSpec.fresh(c)));
    }

    @Test
    void theValidationSplitIsDisjointFromTrainingAndTheSameOnEveryRun() throws Exception {
        for (String split : List.of("5", "0.25")) {
            JobConfig c = config("split", "data.eval.split=" + split);
            TrainData.Prepared p = prepare(c);
            List<InstructionRecord> held = p.heldOut().instructions();
            Set<String> train = trained(p);
            if (split.equals("5")) {
                assertEquals(5, held.size());
            } else {
                assertTrue(held.size() >= 2 && held.size() <= 12, "about a quarter of 24: " + held.size());
            }
            assertEquals(24 - held.size(), p.examples(), "every record is either trained on or held out");
            Set<String> all = new HashSet<>(train);
            for (InstructionRecord r : held) {
                assertTrue(all.add(ids(c, r)), "held-out record trained on: " + r.instruction());
            }
            assertEquals(24, all.size());

            // The same records on a re-run, with another executor count, and without Spark (the eval command).
            JobConfig three = config("split", "data.eval.split=" + split, "spark.executors=3");
            TrainData.Prepared again = prepare(three);
            assertEquals(held, again.heldOut().instructions());
            trained(again);
            assertEquals(held, EvalRecords.heldOutLocally(c).instructions());
            JobConfig otherSeed = config("split", "data.eval.split=" + split, "run.seed=7");
            assertNotEquals(held, EvalRecords.heldOutLocally(otherSeed).instructions(), "the seed salts the split");
        }
        var e = assertThrows(IllegalArgumentException.class, () -> prepare(config("split", "data.eval.split=25")));
        assertEquals("peft4j.data.eval.split: expected at most 24 (the training records), found 25", e.getMessage());
    }

    @Test
    void bestIsTheAdapterOfTheBestEvaluatedRound() throws Exception {
        for (String mode : List.of("max", "min")) {
            String out = "best-" + mode;
            JobConfig c = config(
                    out,
                    "data.eval.split=4",
                    "eval.every=1",
                    "train.rounds=4",
                    "train.lr=0.05",
                    "checkpoint.every=1",
                    "checkpoint.keep=10",
                    "checkpoint.best={metric = eval_loss, mode = " + mode + "}");
            RoundLoop.Outcome o = run(c);
            List<String> lines = Files.readAllLines(tmp.resolve(out).resolve(RunLayout.METRICS));
            int bestRound = -1;
            double bestValue = mode.equals("max") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
            for (String line : lines) {
                JsonNode m = JSON.readTree(line);
                double v = m.get("eval_loss").asDouble();
                if (mode.equals("max") ? v > bestValue : v < bestValue) {
                    bestValue = v;
                    bestRound = m.get("round").asInt();
                }
            }
            assertEquals(4, lines.size());
            if (mode.equals("max")) {
                assertTrue(bestRound < 3, "training lowers the held-out loss, so the worst round is not the last");
            }
            Path best = tmp.resolve(out).resolve("best");
            JsonNode state = JSON.readTree(best.resolve(BestAdapter.STATE).toFile());
            assertEquals(bestRound, state.get("round").asInt(), mode);
            assertEquals(bestValue, state.get("value").asDouble(), mode);
            // best/ holds exactly the adapter that round's checkpoint holds...
            long step = 2L * (bestRound + 1);
            assertArrayEquals(
                    Files.readAllBytes(tmp.resolve(out)
                            .resolve("checkpoints")
                            .resolve(CheckpointStore.dirName(step))
                            .resolve("adapter_model.safetensors")),
                    Files.readAllBytes(best.resolve("adapter_model.safetensors")),
                    mode);
            // ...and evaluating it (the eval command's way) gives the recorded value back.
            Worker w = Worker.build(RunSpec.fresh(c));
            ModelLoader.loadAdapterValues(best.toString(), w.adapters());
            double again = ((Number) Evaluator.evaluate(w, c, EvalRecords.heldOutLocally(c))
                            .get("eval_loss"))
                    .doubleValue();
            assertEquals(bestValue, again, 1e-6 * bestValue, mode);
            assertEquals(4, o.rounds().size());
        }
    }

    @Test
    void resumingWithEveryRecipeKeyInUseEqualsTheUninterruptedRunBitForBit() throws Exception {
        String[] sets = {
            "adapter.method=lora",
            "adapter.options={init = pissa}",
            "adapter.dropout=0.1",
            "adapter.layers=\"1-2\"",
            "data.micro_batch_rows=2",
            "data.eval.split=0.2",
            "train.rounds=null",
            "train.epochs=2",
            "train.warmup_ratio=0.25",
            "train.lr_schedule=cosine",
            "train.max_grad_norm=0.5",
            "train.adam_betas=[0.8, 0.95]",
            "train.adam_eps=1e-6",
            "eval.every=1",
            "eval.num_beams=2",
            "checkpoint.every=1",
            "checkpoint.keep=10",
            "checkpoint.best={metric = eval_loss}"
        };
        RoundLoop.Outcome straight = run(config("resume-straight", sets));
        JobConfig c = config("resume-cut", sets);
        RoundLoop.Outcome first = run(c);
        AdapterStates.assertBitEqual(straight.state(), first.state());
        int rounds = first.rounds().size();
        assertTrue(rounds >= 3, "epochs resolve to " + rounds + " rounds");
        assertTrue(
                first.state().tensors().keySet().stream()
                        .allMatch(k -> k.startsWith("model.layers.1.") || k.startsWith("model.layers.2.")),
                first.state().tensors().keySet().toString());

        // The crash: every checkpoint after round 1 and final/ are lost (best/ is kept, as it was written).
        Path ckpts = tmp.resolve("resume-cut/checkpoints");
        long perRound = first.globalStep() / rounds;
        for (int r = 1; r < rounds; r++) {
            Locations.deleteRecursively(
                    ckpts.resolve(CheckpointStore.dirName(perRound * (r + 1))).toString());
        }
        Locations.deleteRecursively(tmp.resolve("resume-cut/final").toString());
        RoundLoop.Outcome resumed = run(c);
        assertEquals(1, resumed.resumedFromRound());
        AdapterStates.assertBitEqual(straight.state(), resumed.state());
        assertEquals(
                JSON.readTree(tmp.resolve("resume-straight/best")
                        .resolve(BestAdapter.STATE)
                        .toFile()),
                JSON.readTree(tmp.resolve("resume-cut/best")
                        .resolve(BestAdapter.STATE)
                        .toFile()));
        assertArrayEquals(
                Files.readAllBytes(tmp.resolve("resume-straight/best/adapter_model.safetensors")),
                Files.readAllBytes(tmp.resolve("resume-cut/best/adapter_model.safetensors")));
        assertEquals(straight.lastEval(), resumed.lastEval());
    }
}
