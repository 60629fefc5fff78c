package org.peft4j.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.peft4j.job.config.JobConfig;
import org.peft4j.job.rounds.RoundLoop;
import org.peft4j.job.rounds.SparkSetup;
import org.peft4j.job.state.AdapterState;
import org.peft4j.job.testing.AdapterStates;
import org.peft4j.job.testing.TestConfigs;

/**
 * The job across JVMs: Spark's local-cluster master, set up by the job itself, starts two executor processes from the
 * Maven classpath, so every broadcast, shard and result really is serialized. The adapters must come out bit for bit
 * the same as with local[2] (one JVM), and the executors must have loaded the base model in their own processes.
 */
@Tag("cluster")
class LocalClusterTest {
    private static final Path ROOT = Commands.ROOT;

    @TempDir
    Path tmp;

    JobConfig config(String out, String... sets) throws Exception {
        List<String> all = new ArrayList<>(List.of("train.rounds=3"));
        all.addAll(List.of(sets));
        return TestConfigs.smallQuickstart(tmp.resolve(out), all.toArray(String[]::new));
    }

    static AdapterState train(JobConfig c) throws Exception {
        try (JavaSparkContext sc = SparkSetup.context(c)) {
            return RoundLoop.run(sc, c, new PrintStream(new ByteArrayOutputStream()))
                    .state();
        }
    }

    @Test
    void twoExecutorJvmsGiveTheSameAdaptersAsOneJvm() throws Exception {
        // The job's own set-up (SparkSetup, LocalCluster) starts the executor JVMs, as `train --set
        // spark.master=local-cluster[2,1,1024]` does; they use as many BLAS threads as local[2]'s one JVM (BLAS with
        // another thread count sums in another order: same threads, same bits).
        JobConfig clusterConfig = config(
                "cluster",
                "spark.master=\"local-cluster[2,1,1024]\"",
                "spark.conf={\"spark.executorEnv.OMP_NUM_THREADS\" = \""
                        + Runtime.getRuntime().availableProcessors() + "\"}");
        AdapterState cluster;
        try {
            long models = org.peft4j.adapters.model.llama.LlamaWeights.built();
            cluster = train(clusterConfig);
            assertEquals(
                    models,
                    org.peft4j.adapters.model.llama.LlamaWeights.built(),
                    "the driver never loads the base model: the executors build the adapters and send them");
        } finally {
            System.clearProperty("spark.testing");
            System.clearProperty("spark.test.home");
        }
        AdapterState local = train(config("local", "spark.master=\"local[2]\""));
        assertEquals(local.tensors().keySet(), cluster.tensors().keySet());
        AdapterStates.assertBitEqual(local, cluster);
        assertTrue(cluster.optimizerSteps() == 6);
    }
}
