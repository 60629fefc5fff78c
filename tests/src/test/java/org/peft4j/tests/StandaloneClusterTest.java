package org.peft4j.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.peft4j.job.rounds.LocalCluster;

/**
 * A Spark standalone cluster from the Maven jars: a Master and two Workers as separate JVMs on 127.0.0.1, and the
 * shaded job jar submitted through SparkSubmit in client mode, exactly as {@code spark-submit} runs it. SPARK_HOME
 * is only {@code jars/}, linked to Spark's own dependencies (not ND4J or our modules: the shaded jar must bring
 * those). The adapters must equal a local run's bytes.
 */
@Tag("cluster")
class StandaloneClusterTest {
    private static final Path ROOT = Commands.ROOT;
    private static final String JAVA = ProcessHandle.current().info().command().orElse("java");

    @TempDir
    Path tmp;

    final List<Process> processes = new ArrayList<>();

    @AfterEach
    void stopCluster() throws Exception {
        for (Process p : processes) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor(20, TimeUnit.SECONDS);
        }
    }

    Path sparkHome() throws Exception {
        Path jars = Files.createDirectories(tmp.resolve("spark-home/jars"));
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            boolean ours = entry.contains("/org/peft4j/")
                    || entry.contains("/peft4j-")
                    || entry.contains("/org/nd4j/")
                    || entry.contains("/org/bytedeco/")
                    || entry.contains("/ai/djl/")
                    || entry.contains("/com/typesafe/")
                    || entry.contains("/org/junit/")
                    || entry.contains("/org/gaul/")
                    || entry.contains("minicluster")
                    || entry.contains("hadoop-aws")
                    || entry.contains("aws-java-sdk");
            if (entry.endsWith(".jar") && !ours) {
                Path jar = Path.of(entry);
                Path link = jars.resolve(jar.getFileName());
                if (!Files.exists(link)) {
                    Files.createSymbolicLink(link, jar);
                }
            }
        }
        return jars.getParent();
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    Process start(Path home, String name, List<String> args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(JAVA));
        cmd.addAll(LocalCluster.jvmFlags());
        cmd.addAll(List.of("-cp", home.resolve("jars") + "/*"));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .directory(ROOT.toFile())
                .redirectOutput(tmp.resolve(name + ".log").toFile())
                .redirectErrorStream(true);
        Map<String, String> env = pb.environment();
        env.put("SPARK_HOME", home.toString());
        env.put("SPARK_SCALA_VERSION", "2.12");
        env.put("SPARK_LOCAL_IP", "127.0.0.1");
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    @Test
    void theShadedJarTrainsOnAStandaloneClusterToTheSameAdaptersAsALocalRun() throws Exception {
        Path jar = ROOT.resolve("job/target/peft4j-job-spark.jar");
        assertTrue(Files.isRegularFile(jar), "the build makes the shaded jar");
        Path home = sparkHome();
        int port = freePort();
        start(
                home,
                "master",
                List.of(
                        "org.apache.spark.deploy.master.Master",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        Integer.toString(port),
                        "--webui-port",
                        "0"));
        long deadline = System.currentTimeMillis() + 60_000;
        while (true) {
            try (Socket ignored = new Socket("127.0.0.1", port)) {
                break;
            } catch (java.io.IOException e) {
                assertTrue(System.currentTimeMillis() < deadline, Files.readString(tmp.resolve("master.log")));
                Thread.sleep(100);
            }
        }
        String master = "spark://127.0.0.1:" + port;
        for (int w = 0; w < 2; w++) {
            start(
                    home,
                    "worker" + w,
                    List.of(
                            "org.apache.spark.deploy.worker.Worker",
                            "--host",
                            "127.0.0.1",
                            "--webui-port",
                            "0",
                            "--cores",
                            "1",
                            "--memory",
                            "1g",
                            "--work-dir",
                            tmp.resolve("work" + w).toString(),
                            master));
        }
        String[] train = {
            "train",
            "--config",
            "conf/quickstart.conf",
            "--set",
            "train.rounds=3",
            "--set",
            "train.local_steps=2",
            "--set",
            "data.batch_rows=4",
            "--set",
            "data.eval.path=null",
            "--set",
            "checkpoint.every=0",
            "--set",
            "data.max_length=320",
            "--set",
            "data.train=[{dataset = commonsense, path = \"" + ROOT.resolve("conf/samples/commonsense_eval.json")
                    + "\"}]"
        };
        String executorFlags = String.join(" ", LocalCluster.jvmFlags());
        List<String> submit = new ArrayList<>(List.of(
                "org.apache.spark.deploy.SparkSubmit",
                "--master",
                master,
                "--deploy-mode",
                "client",
                "--class",
                "org.peft4j.job.cli.Main",
                "--conf",
                "spark.executor.extraJavaOptions=" + executorFlags,
                "--conf",
                "spark.executor.memory=1g",
                "--conf",
                "spark.driver.host=127.0.0.1",
                "--conf",
                "spark.executorEnv.OMP_NUM_THREADS=" + Runtime.getRuntime().availableProcessors(),
                jar.toString()));
        submit.addAll(List.of(train));
        submit.addAll(List.of("--set", "run.output=" + tmp.resolve("cluster")));
        Process app = start(home, "submit", submit);
        assertTrue(app.waitFor(300, TimeUnit.SECONDS), "spark-submit did not finish in 300 s");
        assertEquals(0, app.exitValue(), Files.readString(tmp.resolve("submit.log")));
        assertTrue(Files.readString(tmp.resolve("submit.log")).contains("round 3/3"));

        List<String> local = Commands.peft4jCommand(train);
        local.addAll(List.of("--set", "run.output=" + tmp.resolve("local")));
        assertEquals(
                0, Commands.runLogged(local, tmp.resolve("local.log")), Files.readString(tmp.resolve("local.log")));
        assertArrayEquals(
                Files.readAllBytes(tmp.resolve("local/final/adapter_model.safetensors")),
                Files.readAllBytes(tmp.resolve("cluster/final/adapter_model.safetensors")));
    }
}
