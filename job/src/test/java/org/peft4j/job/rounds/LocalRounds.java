package org.peft4j.job.rounds;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.IntUnaryOperator;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.peft4j.job.config.JobConfig;
import org.peft4j.job.testing.LocalSpark;

/** What the round-loop tests share: one local[2] Spark context per class, a temporary directory, quiet runs. */
abstract class LocalRounds {
    static JavaSparkContext sc;

    @TempDir
    static Path tmp;

    @BeforeAll
    static void startSpark() {
        sc = new JavaSparkContext(LocalSpark.conf("local[2]", "peft4j-round-loop-test"));
    }

    @AfterAll
    static void stopSpark() {
        sc.stop();
    }

    static RoundLoop.Outcome run(JobConfig c) throws Exception {
        return RoundLoop.run(sc, c, new PrintStream(new ByteArrayOutputStream()));
    }

    /**
     * A commonsense JSON file under {@link #tmp} of {@code n} "Is a greater than b?" records (a = a(i), b = b(i)),
     * answered answer1 when a > b, else answer2.
     */
    static Path comparisons(String name, int n, IntUnaryOperator a, IntUnaryOperator b) throws Exception {
        StringBuilder sb = new StringBuilder("[\n");
        for (int i = 0; i < n; i++) {
            int x = a.applyAsInt(i);
            int y = b.applyAsInt(i);
            sb.append(String.format(
                    "{\"instruction\": \"Is %d greater than %d?\", \"input\": \"\", \"output\": \"answer%d\","
                            + " \"answer\": \"answer%d\"}%s%n",
                    x, y, x > y ? 1 : 2, x > y ? 1 : 2, i < n - 1 ? "," : ""));
        }
        Path file = tmp.resolve(name);
        Files.writeString(file, sb.append("]\n"));
        return file;
    }
}
