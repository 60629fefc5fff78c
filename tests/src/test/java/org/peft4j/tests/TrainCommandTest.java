package org.peft4j.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code deploy/peft4j train} on the README's quickstart configuration, shortened, then inspect and merge. */
class TrainCommandTest {

    @TempDir
    Path tmp;

    @Test
    void quickstartTrainsCheckpointsEvaluatesAndResumes() throws Exception {
        Path output = tmp.resolve("run");
        String[] args = Commands.quickstart(
                output,
                "train.rounds=3",
                "train.local_steps=5",
                "checkpoint.every=1",
                "eval.every=3",
                "data.eval.max_records=8");
        Commands.Result r = Commands.peft4j(args);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("trainable params: "), r.out());
        assertTrue(r.out().contains("round 3/3"), r.out());
        List<String> metrics = Files.readAllLines(output.resolve("metrics.jsonl"));
        assertEquals(4, metrics.size(), "eval.at_start's record, then 3 rounds");
        JsonNode start = new ObjectMapper().readTree(metrics.get(0));
        assertTrue(start.get("global_step").asInt() == 0 && start.has("eval_accuracy"), start.toString());
        JsonNode last = new ObjectMapper().readTree(metrics.get(3));
        assertTrue(
                last.get("loss").asDouble() > 0 && last.has("eval_accuracy") && last.has("broadcast_bytes"),
                last.toString());
        Path step = output.resolve("checkpoints/step-0000000015");
        assertTrue(Files.isRegularFile(step.resolve("MANIFEST.json")));
        Commands.Result inspect =
                Commands.peft4j("inspect", "--dir", output.resolve("final").toString());
        assertEquals(0, inspect.code(), inspect.err());
        assertTrue(inspect.out().contains("model.layers.0.self_attn.q_proj.neat_T1"), inspect.out());

        // Run again: everything is done, so it resumes after the last round and trains nothing more.
        Commands.Result again = Commands.peft4j(args);
        assertEquals(0, again.code(), again.err());
        assertTrue(again.out().contains("resuming from") && !again.out().contains("round 1/3"), again.out());

        Commands.Result eval = Commands.peft4j(
                "eval",
                "--config",
                "conf/quickstart.conf",
                "--set",
                "run.output=" + output,
                "--set",
                "data.eval.max_records=8");
        assertEquals(0, eval.code(), eval.err());
        JsonNode scores = new ObjectMapper().readTree(eval.out().strip());
        assertEquals(output.resolve("final").toString(), scores.get("adapter").asText());
        assertEquals(8, scores.get("eval_records").asInt());
        assertEquals(
                last.get("eval_loss").asDouble(),
                scores.get("eval_loss").asDouble(),
                1e-6,
                "eval of final/ reproduces the last round's evaluation");

        Commands.Result merged = Commands.peft4j(
                "merge",
                "--adapter",
                output.resolve("final").toString(),
                "--out",
                tmp.resolve("merged").toString());
        assertEquals(0, merged.code(), merged.err());
    }

    @Test
    void badConfigurationExitsTwoWithTheKey() throws Exception {
        Commands.Result r = Commands.peft4j("train", "--config", "conf/quickstart.conf", "--set", "train.round=3");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unknown key peft4j.train.round (did you mean peft4j.train.rounds?)"), r.err());
        Commands.Result missing = Commands.peft4j("train", "--config", "conf/nope.conf");
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("conf/nope.conf: no such file"), missing.err());
    }

    /** The recipe keys' bad values: exit 2, naming the key, what it expects and what it found; nothing written. */
    @Test
    void badRecipeValuesExitTwoWithKeyExpectedAndFound() throws Exception {
        Path output = tmp.resolve("refused");
        String[][] cases = {
            {
                "train.epochs=3",
                "peft4j.train.rounds and peft4j.train.epochs: expected exactly one of them set, found both"
                        + " (rounds = 60, epochs = 3.0)"
            },
            {
                "train.rounds=null",
                "peft4j.train.rounds and peft4j.train.epochs: expected exactly one of them set, found" + " neither"
            },
            {
                "data.micro_batch_rows=3",
                "peft4j.data.micro_batch_rows: expected a divisor of data.batch_rows = 8, found 3"
            },
            {"data.eval.split=100000", "peft4j.data.eval.split: expected at most"},
            {"adapter.layers=[0, 4]", "peft4j.adapter.layers: expected layer indices in 0..3, found 4"},
            {
                "train.warmup_ratio=0.1",
                "peft4j.train.warmup_steps and peft4j.train.warmup_ratio: expected at most one of"
                        + " them set, found both (warmup_steps = 5, warmup_ratio = 0.1)"
            },
            {
                "checkpoint.best={metric = eval_f1}",
                "peft4j.checkpoint.best.metric: expected one of the metrics"
                        + " metamath reports [eval_loss, eval_accuracy], found eval_f1"
            },
        };
        for (String[] c : cases) {
            String[] args = c[0].startsWith("data.eval.split")
                    ? Commands.quickstart(output, "data.eval.path=null", c[0])
                    : Commands.quickstart(output, c[0]);
            Commands.Result r = Commands.peft4j(args);
            assertEquals(2, r.code(), c[0] + ": " + r.err());
            assertTrue(r.err().contains(c[1]), c[0] + ": " + r.err());
            assertTrue(!Files.exists(output.resolve("final")), c[0] + " wrote an adapter");
        }
    }
}
