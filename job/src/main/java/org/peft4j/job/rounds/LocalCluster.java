package org.peft4j.job.rounds;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.SparkConf;

/**
 * Spark's {@code local-cluster[N,C,MB]} master on this machine: N executor JVMs of C cores and MB of heap, started by
 * in-process Workers. It is Spark's own test master; the job supports it so that scaling can be measured with one
 * JVM per executor, as a cluster runs, without installing Spark ({@code --set spark.master=local-cluster[2,1,2048]
 * --set spark.executors=2}).
 *
 * <p>The executors get this JVM's classpath and its Java 17, JavaCPP and logging flags, bind to loopback, and keep
 * Spark's default of OMP_NUM_THREADS = C (so BLAS and oneDNN use the executor's cores, not the machine's). The
 * Workers need a SPARK_HOME only for the layout Spark's launcher probes; without an installed one a minimal
 * directory stands in, which Spark reads from {@code spark.test.home} when {@code spark.testing} is set.
 */
public final class LocalCluster {
    private LocalCluster() {}

    public static boolean is(String master) {
        return master != null && master.startsWith("local-cluster[");
    }

    /** This JVM's flags that a JVM it starts needs too: Java 17's --add-opens, JavaCPP's memory caps, logging. */
    public static List<String> jvmFlags() {
        return ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add-opens")
                        || a.startsWith("-XX:+IgnoreUnrecognizedVMOptions")
                        || a.startsWith("-Djdk.")
                        || a.startsWith("-Dorg.bytedeco")
                        || a.startsWith("-Dorg.slf4j"))
                .toList();
    }

    /** Sets what {@code conf}'s run file left unset; {@code conf} must have its master. */
    public static void configure(SparkConf conf) {
        conf.setIfMissing("spark.executor.extraClassPath", System.getProperty("java.class.path"));
        conf.setIfMissing("spark.executor.extraJavaOptions", String.join(" ", jvmFlags()));
        conf.setIfMissing("spark.driver.host", "127.0.0.1");
        conf.setIfMissing("spark.executorEnv.SPARK_LOCAL_IP", "127.0.0.1");
        String arenas = System.getenv("MALLOC_ARENA_MAX");
        if (arenas != null) {
            conf.setIfMissing("spark.executorEnv.MALLOC_ARENA_MAX", arenas);
        }
        if (System.getenv("SPARK_HOME") == null && System.getProperty("spark.test.home") == null) {
            System.setProperty("spark.testing", "true");
            System.setProperty("spark.test.home", sparkHome().toString());
        }
    }

    /** An empty SPARK_HOME with the two directories Spark's launcher looks for (the classes come from the classpath). */
    private static Path sparkHome() {
        try {
            Path home = Files.createTempDirectory("peft4j-spark-home");
            home.toFile().deleteOnExit();
            // deleteOnExit runs last-registered first: children before their parents.
            for (String dir : new String[] {"jars", "launcher", "launcher/target", "launcher/target/scala-2.12"}) {
                Files.createDirectories(home.resolve(dir)).toFile().deleteOnExit();
            }
            return home;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
