package org.peft4j.tests;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/** What the cluster tests give the JVMs they start: this JVM's Java 17 flags, and a minimal SPARK_HOME. */
final class TestJvm {
    private TestJvm() {}

    /** The --add-opens and native-memory flags this test JVM runs with (the surefire argLine). */
    static List<String> flags() {
        return ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add-opens")
                        || a.startsWith("-XX:+Ignore")
                        || a.startsWith("-Djdk.")
                        || a.startsWith("-Dorg.bytedeco"))
                .collect(Collectors.toList());
    }

    /**
     * A SPARK_HOME for local-cluster's in-process Workers: only the layout Spark's launcher probes (the classes come
     * from spark.executor.extraClassPath). Spark reads it from spark.test.home when spark.testing is set, which
     * spares setting environment variables from Java.
     */
    static Path localClusterSparkHome(Path dir) throws Exception {
        Files.createDirectories(dir.resolve("launcher/target/scala-2.12"));
        Files.createDirectories(dir.resolve("jars"));
        return dir;
    }
}
