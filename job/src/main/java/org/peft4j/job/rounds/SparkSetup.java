package org.peft4j.job.rounds;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.peft4j.job.config.JobConfig;
import org.peft4j.job.fs.Locations;

/**
 * The Spark context of a run: the run file's master (unless spark-submit set one) and extra settings; for
 * local-cluster, what its executor JVMs need ({@link LocalCluster}).
 */
public final class SparkSetup {
    private SparkSetup() {}

    public static JavaSparkContext context(JobConfig c) {
        SparkConf conf = new SparkConf().setAppName("peft4j " + c.run().output());
        if (!conf.contains("spark.master")) {
            conf.setMaster(c.spark().master());
        }
        conf.setIfMissing("spark.ui.enabled", "false");
        // Java serialization (Spark's default): what travels is byte[] and double[] payloads plus a few records,
        // and Kryo 4 cannot construct Java records.
        if (c.run().progressSeconds() > 0) {
            // Running tasks' accumulator counts reach the driver with executor heartbeats (default every 10 s).
            conf.setIfMissing(
                    "spark.executor.heartbeatInterval", Math.min(10, c.run().progressSeconds()) + "s");
        }
        c.spark().conf().forEach(conf::set);
        if (LocalCluster.is(conf.get("spark.master"))) {
            LocalCluster.configure(conf);
        }
        JavaSparkContext sc = new JavaSparkContext(conf);
        Locations.useHadoopConfiguration(sc.hadoopConfiguration());
        return sc;
    }
}
