package org.peft4j.job.rounds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.peft4j.job.config.ConfigLoader;
import org.peft4j.job.config.JobConfig;
import org.peft4j.job.eval.EvalRecords;
import org.peft4j.job.eval.Evaluator;
import org.peft4j.job.worker.RunSpec;
import org.peft4j.job.worker.Worker;

/**
 * Evaluation on the executors gives the numbers one process gives; a run reports progress, a summary, and leaves a
 * readable metrics.png.
 */
class ExecutorEvalTest extends LocalRounds {

    static JobConfig config(String output, String... sets) throws Exception {
        Path train = comparisons("eval-train.json", 16, i -> i % 10, i -> (i * 7 + 3) % 10);
        Path eval = comparisons("eval-eval.json", 19, i -> (i * 3) % 10, i -> (i * 5 + 1) % 10);
        List<String> all = new java.util.ArrayList<>(List.of(
                "run.output=" + tmp.resolve(output),
                "data.train=[{dataset = commonsense, path = \"" + train + "\"}]",
                "data.eval.path=\"" + eval + "\"",
                "data.eval.dataset=commonsense",
                "data.max_length=256",
                "data.batch_rows=4",
                "adapter.method=lora",
                "train.rounds=2",
                "train.local_steps=2",
                "train.lr=0.05",
                "spark.executors=2",
                "eval.every=1",
                "eval.max_new_tokens=8",
                "checkpoint.every=0"));
        all.addAll(List.of(sets));
        return ConfigLoader.load(null, all);
    }

    @Test
    void executorsScoreExactlyLikeOneProcessGreedyAndWithBeams() throws Exception {
        for (String beams : List.of("1", "2")) {
            JobConfig c = config("eval-" + beams, "eval.num_beams=" + beams);
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            RoundLoop.Outcome o = RoundLoop.run(sc, c, new PrintStream(log, true, StandardCharsets.UTF_8));
            Worker w = Worker.build(RunSpec.fresh(c));
            o.state().applyTo(w.adapters(), w.optimizer());
            Map<String, Object> single = Evaluator.evaluate(w, c, EvalRecords.fromFile(c));
            assertEquals(19, single.get("eval_records"));
            assertEquals(single, o.lastEval(), "the run's last evaluation (19 records over 2 executors, 3 chunks)");
            assertEquals(single, EvalStep.evaluate(sc, w, EvalRecords.fromFile(c)), "the eval command's path");

            String out = log.toString(StandardCharsets.UTF_8);
            assertTrue(out.contains("peft4j: done: 2 rounds, steps 0-4, "), out);
            assertTrue(out.contains("; last eval {eval_records=19"), out);
        }
    }

    @Test
    void aRunDrawsMetricsPngAndReportsProgressWithinALongRound() throws Exception {
        JobConfig c = config("png", "train.rounds=1", "train.local_steps=60", "run.progress_seconds=1");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        RoundLoop.run(sc, c, new PrintStream(log, true, StandardCharsets.UTF_8));
        String out = log.toString(StandardCharsets.UTF_8);
        assertTrue(
                out.lines().anyMatch(l -> l.matches("peft4j: round 1/1  steps \\d+/120  [\\d,]+ tokens/s  ETA .*")),
                out);
        BufferedImage png = ImageIO.read(tmp.resolve("png/metrics.png").toFile());
        assertNotNull(png, "metrics.png is a PNG");
        assertEquals(1000, png.getWidth());
        JsonNode last = new ObjectMapper()
                .readTree(Files.readAllLines(tmp.resolve("png/metrics.jsonl")).get(0));
        assertEquals("lora", last.get("method").asText());
        assertTrue(last.get("trainable").asLong() > 0 && last.has("returned_bytes") && last.has("eval_accuracy"));
    }
}
