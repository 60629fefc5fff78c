package org.peft4j.job.testing;

import org.apache.spark.SparkConf;
import org.peft4j.job.rounds.LocalCluster;

/** The one Spark configuration builder of the job and end-to-end tests: loopback, no UI. */
public final class LocalSpark {
    private LocalSpark() {}

    /** {@code master} (local[n], local-cluster[...]) on 127.0.0.1 with the web UI off. */
    public static SparkConf conf(String master, String appName) {
        return new SparkConf()
                .setMaster(master)
                .setAppName(appName)
                .set("spark.ui.enabled", "false")
                .set("spark.driver.host", "127.0.0.1");
    }

    /**
     * local-cluster's executors as the job sets them up ({@link LocalCluster}: this JVM's classpath and flags,
     * loopback, a stand-in SPARK_HOME through the spark.testing properties, which the caller clears), using as many
     * BLAS threads as this JVM (Spark 3.4+ sets OMP_NUM_THREADS to the executor's cores, and BLAS with another thread
     * count sums in another order: same threads, same bits).
     */
    public static SparkConf withExecutorJvms(SparkConf conf) {
        conf.set(
                "spark.executorEnv.OMP_NUM_THREADS",
                Integer.toString(Runtime.getRuntime().availableProcessors()));
        LocalCluster.configure(conf);
        return conf;
    }
}
