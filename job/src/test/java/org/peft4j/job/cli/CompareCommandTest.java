package org.peft4j.job.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.peft4j.job.testing.TestConfigs;

/** {@code compare}: two methods (one with an option) trained end to end in child JVMs, one table, one PNG. */
class CompareCommandTest {
    @TempDir
    Path tmp;

    @Test
    void trainsEachMethodOnTheSameBudgetAndTabulatesThem() throws Exception {
        Path out = tmp.resolve("cmp");
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(
                List.of(
                        "compare",
                        "--config",
                        TestConfigs.ROOT.resolve("conf/quickstart.conf").toString(),
                        "--methods",
                        "lora,lamda:freeze=code",
                        "--set",
                        "data.train=[{dataset = metamath, path = \""
                                + TestConfigs.ROOT.resolve("conf/samples/arith_train.json") + "\"}]",
                        "--set",
                        "data.eval.path=\"" + TestConfigs.ROOT.resolve("conf/samples/arith_eval.json") + "\"",
                        "--set",
                        "data.eval.max_records=8",
                        "--set",
                        "eval.max_new_tokens=4",
                        "--set",
                        "data.batch_rows=4",
                        "--set",
                        "train.rounds=2",
                        "--set",
                        "train.local_steps=2",
                        "--set",
                        "eval.every=2",
                        "--set",
                        "checkpoint.every=0",
                        "--out",
                        out.toString()),
                new PrintStream(text, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        String table = text.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, err.toString(StandardCharsets.UTF_8) + table);
        assertTrue(table.lines().anyMatch(l -> l.matches("lora\\s+lora\\s+8\\s+.*eval_accuracy=.*")), table);
        assertTrue(table.lines().anyMatch(l -> l.matches("lamda_freeze=code\\s+lamda\\s+8\\s+.*")), table);
        assertEquals(
                table.substring(table.indexOf("run ")).split("wrote")[0], Files.readString(out.resolve("compare.txt")));
        assertNotNull(ImageIO.read(out.resolve("compare.png").toFile()));
        // the option reached the run: LaMDA with freeze = code
        String conf = Files.readString(out.resolve("lamda_freeze=code/final/adapter_config.json"));
        assertTrue(conf.contains("\"code\""), conf);
        var first = new ObjectMapper()
                .readTree(Files.readAllLines(out.resolve("lora/metrics.jsonl")).get(0));
        assertTrue(first.get("peak_rss_mb").asDouble() > 100, first.toString());
    }
}
