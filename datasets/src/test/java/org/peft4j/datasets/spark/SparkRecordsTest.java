package org.peft4j.datasets.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.peft4j.datasets.read.BadRecords;
import org.peft4j.datasets.record.InstructionRecord;
import org.peft4j.datasets.shard.ShardKey;

/** A JSON array of more than 50 MB, read by executors in Spark local mode and sharded, never collected. */
class SparkRecordsTest {
    static JavaSparkContext sc;

    @TempDir
    static Path tmp;

    @BeforeAll
    static void start() {
        sc = new JavaSparkContext(new SparkConf()
                .setMaster("local[2]")
                .setAppName("peft4j-datasets-test")
                .set("spark.ui.enabled", "false")
                .set("spark.driver.host", "127.0.0.1"));
    }

    @AfterAll
    static void stop() {
        sc.stop();
    }

    /** Writes n Commonsense170K-shaped records (about 500 bytes each) as one JSON array. */
    static Path writeArray(int n) throws Exception {
        Path file = tmp.resolve("commonsense_big.json");
        try (JsonGenerator g = new ObjectMapper().getFactory().createGenerator(file.toFile(), JsonEncoding.UTF8)) {
            g.writeStartArray();
            for (int i = 0; i < n; i++) {
                g.writeStartObject();
                g.writeStringField(
                        "instruction",
                        "Please answer the following question with true or false,"
                                + " question: is record number " + i
                                + " even? Some padding text to make records realistic:"
                                + " the quick brown fox jumps over the lazy dog, naïve café 数学, " + "x".repeat(220));
                g.writeStringField("input", i % 5 == 0 ? "context " + i : "");
                g.writeStringField("output", "the correct answer is " + (i % 2 == 0));
                g.writeStringField("answer", String.valueOf(i % 2 == 0));
                g.writeEndObject();
            }
            g.writeEndArray();
        }
        return file;
    }

    @Test
    void readsAFiftyMegabyteArrayInExecutorsAndShardsItDeterministically() throws Exception {
        int n = 110_000;
        Path file = writeArray(n);
        assertTrue(Files.size(file) > 50L << 20, "file is " + Files.size(file) + " bytes");

        SparkRecords.Read read =
                SparkRecords.instructions(sc, "commonsense", file.toUri().toString(), BadRecords.Policy.FAIL);
        JavaRDD<InstructionRecord> shards = SparkRecords.shard(read.records(), 4, 11);
        // Only per-partition counts and checksums come back to the driver, never records.
        List<long[]> stats = shards.mapPartitionsWithIndex(
                        (p, it) -> {
                            long count = 0;
                            long sum = 0;
                            while (it.hasNext()) {
                                InstructionRecord r = it.next();
                                if (ShardKey.partition(ShardKey.of(r, 11), 4) != p) {
                                    throw new IllegalStateException("record in the wrong shard");
                                }
                                count++;
                                sum += ShardKey.of(r, 99);
                            }
                            return Collections.singletonList(new long[] {p, count, sum})
                                    .iterator();
                        },
                        true)
                .collect();
        assertEquals(4, stats.size());
        long total = 0;
        for (long[] s : stats) {
            total += s[1];
            assertTrue(Math.abs(s[1] - n / 4.0) < 0.05 * n / 4, "shard " + s[0] + " has " + s[1]);
        }
        assertEquals(n, total);
        assertEquals(n, read.read().value());
        assertEquals(0, read.skipped().value());

        // A second read with the same seed gives the same shards.
        List<long[]> again = SparkRecords.shard(
                        SparkRecords.instructions(sc, "commonsense", file.toString(), BadRecords.Policy.FAIL)
                                .records(),
                        4,
                        11)
                .mapPartitionsWithIndex(
                        (p, it) -> {
                            long sum = 0;
                            long count = 0;
                            while (it.hasNext()) {
                                sum += ShardKey.of(it.next(), 99);
                                count++;
                            }
                            return Collections.singletonList(new long[] {p, count, sum})
                                    .iterator();
                        },
                        true)
                .collect();
        for (int p = 0; p < 4; p++) {
            assertEquals(stats.get(p)[1], again.get(p)[1]);
            assertEquals(stats.get(p)[2], again.get(p)[2]);
        }
    }

    @Test
    void skippedRecordsAreCountedAcrossExecutors() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("jsonl"));
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            lines.add(
                    i % 10 == 3
                            ? "{\"question\": \"q\"}"
                            : "{\"question\": \"q" + i + "\", \"answer\": \"#### " + i + "\"}");
        }
        Files.write(dir.resolve("a.jsonl"), lines.subList(0, 50));
        Files.write(dir.resolve("b.jsonl"), lines.subList(50, 100));
        SparkRecords.Read read = SparkRecords.instructions(sc, "gsm8k", dir.toString(), BadRecords.Policy.SKIP);
        assertEquals(90, read.records().count());
        assertEquals(90, read.read().value());
        assertEquals(10, read.skipped().value());
    }
}
