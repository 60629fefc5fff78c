package org.peft4j.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** deploy/: the spark-submit wrapper's command line and the Airflow DAG's structure. */
class DeployTest {
    @TempDir
    Path tmp;

    Commands.Result run(List<String> cmd, java.util.Map<String, String> env) throws Exception {
        return Commands.run(cmd, env, true);
    }

    @Test
    void sparkSubmitWrapperPassesJavaFlagsMemoryGpuAndTrainArguments() throws Exception {
        // A stand-in spark-submit that prints its arguments, one per line.
        Path home = Files.createDirectories(tmp.resolve("spark/bin"));
        Path fake = home.resolve("spark-submit");
        Files.writeString(fake, "#!/usr/bin/env bash\nprintf '%s\\n' \"$@\"\n");
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path jar = Files.createFile(tmp.resolve("peft4j-job-spark.jar"));
        var env = java.util.Map.of("SPARK_HOME", tmp.resolve("spark").toString(), "PEFT4J_JAR", jar.toString());
        Commands.Result r = run(
                List.of(
                        "deploy/spark-submit.sh",
                        "--master",
                        "spark://h:7077",
                        "--gpu",
                        "--",
                        "--config",
                        "hdfs:///c.conf",
                        "--set",
                        "train.rounds=3"),
                env);
        assertEquals(0, r.code(), r.out());
        List<String> args = r.out().lines().toList();
        assertEquals(
                List.of(jar.toString(), "train", "--config", "hdfs:///c.conf", "--set", "train.rounds=3"),
                args.subList(args.size() - 6, args.size()),
                "jar, then peft4j's arguments");
        assertTrue(args.contains("org.peft4j.job.cli.Main") && args.contains("spark://h:7077"), r.out());
        assertTrue(
                args.stream()
                        .anyMatch(a -> a.startsWith("spark.executor.extraJavaOptions=")
                                && a.contains("--add-opens=java.base/sun.nio.ch=ALL-UNNAMED")
                                && a.contains("-Dorg.bytedeco.javacpp.maxphysicalbytes=24g")),
                r.out());
        assertTrue(
                args.contains("spark.executor.resource.gpu.amount=1")
                        && args.contains("spark.task.resource.gpu.amount=1"),
                r.out());
        Commands.Result cpu =
                run(List.of("deploy/spark-submit.sh", "--master", "yarn", "--", "--config", "x.conf"), env);
        assertTrue(cpu.out().lines().noneMatch(a -> a.contains("resource.gpu")), cpu.out());

        Commands.Result noJar = run(
                List.of("deploy/spark-submit.sh", "--", "--config", "x"),
                java.util.Map.of("PEFT4J_JAR", tmp.resolve("missing.jar").toString()));
        assertEquals(2, noJar.code());
        assertTrue(noJar.out().contains("mvn -B -Pshaded -DskipTests package"), noJar.out());
    }

    @Test
    void airflowDagParsesAndMapsExitCodes() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/python3")), "python3 is needed to parse the DAG");
        Commands.Result r = run(List.of("/usr/bin/python3", "deploy/airflow/check_dag.py"), java.util.Map.of());
        assertEquals(0, r.code(), r.out());
        assertTrue(r.out().contains("all checks passed"), r.out());
    }
}
