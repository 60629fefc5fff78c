package org.peft4j.job.testing;

import java.util.List;
import org.apache.spark.SparkConf;

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
     * local-cluster's executors are new JVMs: they get this JVM's classpath and {@code jvmFlags}, bind to loopback,
     * and use as many BLAS threads as this JVM (Spark 3.4+ sets OMP_NUM_THREADS to the executor's cores, and BLAS
     * with another thread count sums in another order: same threads, same bits).
     */
    public static SparkConf withExecutorJvms(SparkConf conf, List<String> jvmFlags) {
        return conf.set("spark.executor.extraClassPath", System.getProperty("java.class.path"))
                .set("spark.executor.extraJavaOptions", String.join(" ", jvmFlags))
                .set("spark.executorEnv.SPARK_LOCAL_IP", "127.0.0.1")
                .set(
                        "spark.executorEnv.OMP_NUM_THREADS",
                        Integer.toString(Runtime.getRuntime().availableProcessors()));
    }
}
