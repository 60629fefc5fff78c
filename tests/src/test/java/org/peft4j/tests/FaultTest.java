package org.peft4j.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.peft4j.job.config.ConfigLoader;
import org.peft4j.job.config.JobConfig;
import org.peft4j.job.rounds.AdapterState;
import org.peft4j.job.rounds.RoundLoop;

/** kill -9 of the driver mid-run, and of an executor JVM mid-job: the adapters end up the same. */
@Tag("cluster")
class FaultTest {
    private static final Path ROOT = Path.of(System.getProperty("peft4jtest.repo.root", ".."));

    @TempDir
    Path tmp;

    List<String> train(Path output) {
        return new ArrayList<>(List.of(
                ROOT.resolve("deploy/peft4j").toString(),
                "train",
                "--config",
                "conf/quickstart.conf",
                "--set",
                "run.output=" + output,
                "--set",
                "train.rounds=6",
                "--set",
                "checkpoint.every=1",
                "--set",
                "data.eval.path=null",
                "--set",
                "train.local_steps=2"));
    }

    int runToEnd(Path output) throws Exception {
        Process p = new ProcessBuilder(train(output))
                .directory(ROOT.toFile())
                .redirectOutput(
                        tmp.resolve("out-" + output.getFileName() + ".txt").toFile())
                .redirectErrorStream(true)
                .start();
        assertTrue(p.waitFor(300, TimeUnit.SECONDS));
        return p.exitValue();
    }

    @Test
    void killingTheDriverAndStartingAgainEndsWithTheSameAdapters() throws Exception {
        Path straight = tmp.resolve("straight");
        assertEquals(0, runToEnd(straight));

        Path crashed = tmp.resolve("crashed");
        Process p = new ProcessBuilder(train(crashed))
                .directory(ROOT.toFile())
                .redirectOutput(tmp.resolve("first-attempt.txt").toFile())
                .redirectErrorStream(true)
                .start();
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
        JobConfig c = ConfigLoader.load(
                ROOT.resolve("conf/quickstart.conf").toString(),
                List.of(
                        "run.output=" + tmp.resolve("executors"),
                        "train.rounds=6",
                        "train.local_steps=2",
                        "checkpoint.every=0",
                        "data.eval.path=null",
                        "data.batch_rows=4",
                        "data.train=[{dataset = commonsense, path = \""
                                + ROOT.resolve("conf/samples/commonsense_eval.json") + "\"}]"));
        Path home = TestJvm.localClusterSparkHome(tmp.resolve("spark-home"));
        System.setProperty("spark.testing", "true");
        System.setProperty("spark.test.home", home.toString());
        AdapterState withKill;
        AdapterState without;
        try {
            without = train(c, false);
            withKill = train(c, true);
        } finally {
            System.clearProperty("spark.testing");
            System.clearProperty("spark.test.home");
        }
        without.tensors()
                .forEach((k, v) -> assertArrayEquals(
                        v.dup().data().asFloat(),
                        withKill.tensors().get(k).dup().data().asFloat(),
                        k));
    }

    /** local-cluster with two executor JVMs; with {@code kill}, one executor is killed -9 once round 2 runs. */
    static AdapterState train(JobConfig c, boolean kill) throws Exception {
        String flags = String.join(" ", TestJvm.flags());
        SparkConf conf = new SparkConf()
                .setMaster("local-cluster[2,1,1024]")
                .setAppName("peft4j-fault-test")
                .set("spark.ui.enabled", "false")
                .set("spark.driver.host", "127.0.0.1")
                .set("spark.executor.extraClassPath", System.getProperty("java.class.path"))
                .set("spark.executor.extraJavaOptions", flags)
                .set(
                        "spark.executorEnv.OMP_NUM_THREADS",
                        Integer.toString(Runtime.getRuntime().availableProcessors()))
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
