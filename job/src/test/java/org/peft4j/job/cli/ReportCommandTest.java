package org.peft4j.job.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code report}: runs overlaid in one PNG and tabulated; a run directory without metrics exits 2. */
class ReportCommandTest {
    @TempDir
    Path tmp;

    private Path run(String name, String method, long trainable0, long trainable1, double loss1) throws Exception {
        Path d = tmp.resolve(name);
        Files.createDirectories(d);
        Files.writeString(
                d.resolve("metrics.jsonl"),
                // eval.at_start's record first: an evaluation with no training figures, not a round
                String.format(
                        "{\"method\":\"%s\",\"rank\":8,\"trainable\":%d,\"global_step\":0,\"eval_records\":32,"
                                + "\"eval_loss\":3.0,\"eval_accuracy\":0.0,\"eval_seconds\":1.5}%n"
                                + "{\"round\":0,\"method\":\"%s\",\"rank\":8,\"trainable\":%d,\"global_step\":5,\"loss\":2.5,"
                                + "\"lr\":0.01,\"tokens_per_s\":100.0,\"broadcast_bytes\":1000,\"returned_bytes\":2000}%n"
                                + "{\"round\":1,\"method\":\"%s\",\"rank\":8,\"trainable\":%d,\"global_step\":10,\"loss\":%s,"
                                + "\"lr\":0.01,\"tokens_per_s\":300.0,\"broadcast_bytes\":10,\"returned_bytes\":20,\"peak_rss_mb\":512.0,"
                                + "\"eval_records\":32,\"eval_loss\":1.0,\"eval_accuracy\":0.75}%n",
                        method, trainable0, method, trainable0, method, trainable1, loss1));
        return d;
    }

    @Test
    void overlaysRunsAndTabulatesTheirFinalNumbers() throws Exception {
        Path a = run("a", "lamda", 1920, 128, 0.5);
        Path b = run("b", "lora", 4096, 4096, 0.25);
        Path png = tmp.resolve("cmp.png");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(
                List.of("report", "--run", a.toString(), "--run", b.toString(), "--out", png.toString()),
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
        List<String> lines = text.lines().toList();
        assertTrue(
                lines.get(1).matches(".*lamda\\s+8\\s+1,920\\s+128\\s+2\\s+0\\.5000\\s+200\\s+512\\s+30\\s+\\{.*"),
                text);
        assertTrue(
                lines.get(2).matches(".*lora\\s+8\\s+4,096\\s+4,096\\s+2\\s+0\\.2500\\s+200\\s+512\\s+30\\s+\\{.*"),
                text);
        assertTrue(lines.get(1).contains("eval_accuracy=0.75"), text);
        BufferedImage image = ImageIO.read(png.toFile());
        assertNotNull(image);
        assertEquals(1200, image.getWidth());

        int missing = Main.run(
                List.of("report", "--run", tmp.resolve("nothing").toString(), "--out", png.toString()),
                new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(2, missing);
        assertTrue(
                err.toString(StandardCharsets.UTF_8).contains("nothing/metrics.jsonl: no such file"), err.toString());
    }
}
