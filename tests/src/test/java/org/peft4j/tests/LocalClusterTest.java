package org.peft4j.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.peft4j.job.config.ConfigLoader;
import org.peft4j.job.config.JobConfig;
import org.peft4j.job.rounds.AdapterState;
import org.peft4j.job.rounds.RoundLoop;

/**
 * The job across JVMs: Spark's local-cluster master starts two executor processes from the Maven classpath, so
 * every broadcast, shard and result really is serialized. The adapters must come out bit for bit the same as with
 * local[2] (one JVM), and the executors must have loaded the base model in their own processes.
 */
@Tag("cluster")
class LocalClusterTest {
    private static final Path ROOT = Path.of(System.getProperty("peft4jtest.repo.root", ".."));

    @TempDir
    Path tmp;

    JobConfig config(String out) throws Exception {
        return ConfigLoader.load(
                ROOT.resolve("conf/quickstart.conf").toString(),
                List.of(
                        "run.output=" + tmp.resolve(out),
                        "train.rounds=3",
                        "train.local_steps=2",
                        "checkpoint.every=0",
                        "data.eval.path=null",
                        "data.batch_rows=4",
                        "data.train=[{dataset = commonsense, path = \""
                                + ROOT.resolve("conf/samples/commonsense_eval.json") + "\"}]"));
    }

    static AdapterState train(String master, JobConfig c) throws Exception {
        SparkConf conf = new SparkConf()
                .setMaster(master)
                .setAppName("peft4j-local-cluster-test")
                .set("spark.ui.enabled", "false")
                .set("spark.driver.host", "127.0.0.1");
        if (master.startsWith("local-cluster")) {
            // Executors are new JVMs: the test's classpath and the JVM flags this one runs with.
            String flags = String.join(" ", TestJvm.flags());
            conf.set("spark.executor.extraClassPath", System.getProperty("java.class.path"))
                    .set("spark.executor.extraJavaOptions", flags)
                    .set("spark.executorEnv.SPARK_LOCAL_IP", "127.0.0.1")
                    // Spark 3.4+ sets OMP_NUM_THREADS to the executor's cores (1 here); BLAS with another thread
                    // count sums in another order. Same threads as the one-JVM run: same bits.
                    .set(
                            "spark.executorEnv.OMP_NUM_THREADS",
                            Integer.toString(Runtime.getRuntime().availableProcessors()));
        }
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            return RoundLoop.run(sc, c, new PrintStream(new ByteArrayOutputStream()))
                    .state();
        }
    }

    @Test
    void twoExecutorJvmsGiveTheSameAdaptersAsOneJvm() throws Exception {
        System.setProperty("spark.testing", "true");
        System.setProperty(
                "spark.test.home",
                TestJvm.localClusterSparkHome(tmp.resolve("spark-home")).toString());
        AdapterState cluster;
        try {
            cluster = train("local-cluster[2,1,1024]", config("cluster"));
        } finally {
            System.clearProperty("spark.testing");
            System.clearProperty("spark.test.home");
        }
        AdapterState local = train("local[2]", config("local"));
        assertEquals(local.tensors().keySet(), cluster.tensors().keySet());
        local.tensors()
                .forEach((k, v) -> assertArrayEquals(
                        v.dup().data().asFloat(),
                        cluster.tensors().get(k).dup().data().asFloat(),
                        k));
        local.moments()
                .forEach((k, v) -> assertArrayEquals(
                        v.dup().data().asFloat(),
                        cluster.moments().get(k).dup().data().asFloat(),
                        k));
        assertTrue(cluster.optimizerSteps() == 6);
    }
}
