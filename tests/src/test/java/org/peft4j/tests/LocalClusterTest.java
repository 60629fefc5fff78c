package org.peft4j.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
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

/**
 * The job across JVMs: Spark's local-cluster master starts two executor processes from the Maven classpath, so
 * every broadcast, shard and result really is serialized. The adapters must come out bit for bit the same as with
 * local[2] (one JVM), and the executors must have loaded the base model in their own processes.
 */
@Tag("cluster")
class LocalClusterTest {
    private static final Path ROOT = Commands.ROOT;

    @TempDir
    Path tmp;

    JobConfig config(String out) throws Exception {
        return TestConfigs.smallQuickstart(tmp.resolve(out), "train.rounds=3");
    }

    static AdapterState train(String master, JobConfig c) throws Exception {
        SparkConf conf = LocalSpark.conf(master, "peft4j-local-cluster-test");
        if (master.startsWith("local-cluster")) {
            // Executors are new JVMs: the test's classpath and the JVM flags this one runs with, and the same BLAS
            // threads as the one-JVM run (same threads, same bits).
            LocalSpark.withExecutorJvms(conf, TestJvm.flags());
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
            long models = org.peft4j.adapters.model.llama.LlamaWeights.built();
            cluster = train("local-cluster[2,1,1024]", config("cluster"));
            assertEquals(
                    models,
                    org.peft4j.adapters.model.llama.LlamaWeights.built(),
                    "the driver never loads the base model: the executors build the adapters and send them");
        } finally {
            System.clearProperty("spark.testing");
            System.clearProperty("spark.test.home");
        }
        AdapterState local = train("local[2]", config("local"));
        assertEquals(local.tensors().keySet(), cluster.tensors().keySet());
        AdapterStates.assertBitEqual(local, cluster);
        assertTrue(cluster.optimizerSteps() == 6);
    }
}
