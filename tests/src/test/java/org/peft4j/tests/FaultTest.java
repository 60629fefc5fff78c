package org.peft4j.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.peft4j.job.config.JobConfig;
import org.peft4j.job.rounds.RoundLoop;
import org.peft4j.job.state.AdapterState;
import org.peft4j.job.testing.AdapterStates;
import org.peft4j.job.testing.LocalSpark;
import org.peft4j.job.testing.TestConfigs;

/** kill -9 of the driver mid-run, and of an executor JVM mid-job: the adapters end up the same. */
@Tag("cluster")
class FaultTest {
    private static final Path ROOT = Commands.ROOT;

    @TempDir
    Path tmp;

    List<String> train(Path output) {
        return Commands.peft4jCommand(Commands.quickstart(
                output, "train.rounds=6", "checkpoint.every=1", "data.eval.path=null", "train.local_steps=2"));
    }

    int runToEnd(Path output) throws Exception {
        return Commands.runLogged(train(output), tmp.resolve("out-" + output.getFileName() + ".txt"));
    }

    @Test
    void killingTheDriverAndStartingAgainEndsWithTheSameAdapters() throws Exception {
        Path straight = tmp.resolve("straight");
        assertEquals(0, runToEnd(straight));

        Path crashed = tmp.resolve("crashed");
        Process p = Commands.start(train(crashed), tmp.resolve("first-attempt.txt"));
        Path second = crashed.resolve("checkpoints/step-0000000004/MANIFEST.json");
        long deadline = System.currentTimeMillis() + 240_000;
        while (!Files.exists(second) && p.isAlive() && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
        }
        assertTrue(p.isAlive(), "the run should still be going after round 2 of 6");
        p.destroyForcibly(); // kill -9: no shutdown hooks, files half-written where they were
        p.waitFor(30, TimeUnit.SECONDS);
        assertTrue(!Files.exists(crashed.resolve("final")), "the first attempt did not finish");

        assertEquals(0, runToEnd(crashed));
        String log = Files.readString(tmp.resolve("out-crashed.txt"));
        assertTrue(log.contains("resuming from"), log);
        assertArrayEquals(
                Files.readAllBytes(straight.resolve("final/adapter_model.safetensors")),
                Files.readAllBytes(crashed.resolve("final/adapter_model.safetensors")));
    }

    @Test
    void killingAnExecutorJvmMidJobRetriesAndEndsWithTheSameAdapters() throws Exception {
        JobConfig c = TestConfigs.smallQuickstart(tmp.resolve("executors"), "train.rounds=6");
        AdapterState withKill;
        AdapterState without;
        try {
            without = train(c, false);
            withKill = train(c, true);
        } finally {
            System.clearProperty("spark.testing");
            System.clearProperty("spark.test.home");
        }
        AdapterStates.assertBitEqual(without, withKill);
    }

    @Test
    void killingAnExecutorJvmDuringEvaluationRetriesToTheSameMetrics() throws Exception {
        JobConfig c = TestConfigs.smallQuickstart(
                tmp.resolve("eval-kill"),
                "train.rounds=2",
                "data.eval.path=\"" + ROOT.resolve("conf/samples/commonsense_eval.json") + "\"",
                "data.eval.max_records=24",
                "eval.every=1",
                "eval.max_new_tokens=24");
        RoundLoop.Outcome withKill;
        RoundLoop.Outcome without;
        try {
            without = run(c, null);
            withKill = run(c, ": eval");
        } finally {
            System.clearProperty("spark.testing");
            System.clearProperty("spark.test.home");
        }
        assertEquals(without.rounds().size(), withKill.rounds().size());
        for (int r = 0; r < without.rounds().size(); r++) {
            for (String k : List.of("eval_records", "eval_loss", "eval_accuracy", "loss")) {
                assertEquals(
                        without.rounds().get(r).get(k), withKill.rounds().get(r).get(k), "round " + r + " " + k);
            }
        }
        AdapterStates.assertBitEqual(without.state(), withKill.state());
    }

    /**
     * local-cluster with two executor JVMs; with {@code killAt}, one executor is killed -9 as soon as a Spark job whose
     * description contains it starts.
     */
    static RoundLoop.Outcome run(JobConfig c, String killAt) throws Exception {
        SparkConf conf = LocalSpark.withExecutorJvms(LocalSpark.conf("local-cluster[2,1,1024]", "peft4j-fault-test"))
                .set("spark.task.maxFailures", "4");
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            AtomicReference<Long> killed = new AtomicReference<>();
            if (killAt != null) {
                sc.sc().addSparkListener(new org.apache.spark.scheduler.SparkListener() {
                    @Override
                    public void onJobStart(org.apache.spark.scheduler.SparkListenerJobStart e) {
                        String d =
                                e.properties() == null ? null : e.properties().getProperty("spark.job.description");
                        if (d != null && d.contains(killAt) && killed.get() == null) {
                            new Thread(() -> {
                                        try {
                                            Thread.sleep(100); // the tasks are launched
                                        } catch (InterruptedException ignored) {
                                            Thread.currentThread().interrupt();
                                        }
                                        ProcessHandle.current()
                                                .descendants()
                                                .filter(h -> h.info()
                                                        .command()
                                                        .orElse("")
                                                        .endsWith("java"))
                                                .findFirst()
                                                .ifPresent(h -> {
                                                    h.destroyForcibly();
                                                    killed.set(h.pid());
                                                });
                                    })
                                    .start();
                        }
                    }
                });
            }
            RoundLoop.Outcome o = RoundLoop.run(sc, c, new PrintStream(new ByteArrayOutputStream()));
            if (killAt != null) {
                assertTrue(killed.get() != null, "an executor JVM was killed during a job '" + killAt + "'");
            }
            return o;
        } finally {
            org.peft4j.job.fs.Locations.deleteRecursively(c.run().output());
        }
    }

    /** local-cluster with two executor JVMs; with {@code kill}, one executor is killed -9 once round 2 runs. */
    static AdapterState train(JobConfig c, boolean kill) throws Exception {
        SparkConf conf = LocalSpark.withExecutorJvms(LocalSpark.conf("local-cluster[2,1,1024]", "peft4j-fault-test"))
                .set("spark.task.maxFailures", "4");
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            AtomicReference<Long> killed = new AtomicReference<>();
            Thread killer = new Thread(() -> {
                try {
                    Path metrics = Path.of(c.run().output(), "metrics.jsonl");
                    while (!Files.exists(metrics)) {
                        Thread.sleep(20);
                    }
                    // The only JVMs this test JVM starts are local-cluster's executors.
                    Optional<ProcessHandle> executor = ProcessHandle.current()
                            .descendants()
                            .filter(h -> h.info().command().orElse("").endsWith("java"))
                            .findFirst();
                    executor.ifPresent(h -> {
                        h.destroyForcibly();
                        killed.set(h.pid());
                    });
                } catch (InterruptedException ignored) {
                    Thread.currentThread().interrupt();
                }
            });
            if (kill) {
                killer.start();
            }
            AdapterState s = RoundLoop.run(sc, c, new PrintStream(new ByteArrayOutputStream()))
                    .state();
            if (kill) {
                killer.join(60_000);
                assertTrue(killed.get() != null, "an executor JVM was killed during the run");
            }
            return s;
        } finally {
            org.peft4j.job.fs.Locations.deleteRecursively(c.run().output());
        }
    }
}
