package org.peft4j.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.peft4j.job.config.JobConfig;
import org.peft4j.job.fs.Locations;
import org.peft4j.job.rounds.RoundLoop;
import org.peft4j.job.state.AdapterState;
import org.peft4j.job.testing.AdapterStates;
import org.peft4j.job.testing.LocalSpark;
import org.peft4j.job.testing.TestConfigs;

/**
 * S3 semantics through S3A against s3proxy (in-memory backend) running as a child JVM on 127.0.0.1: checkpoints
 * and metrics written to s3a://, a checkpoint left without its manifest ignored, and a resumed run matching an
 * uninterrupted one bit for bit.
 */
@Tag("cluster")
class S3Test {
    private static final Path ROOT = Commands.ROOT;

    @TempDir
    static Path tmp;

    static Process s3proxy;
    static int port;
    static JavaSparkContext sc;

    @BeforeAll
    static void start() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Path props = tmp.resolve("s3proxy.properties");
        Files.writeString(
                props,
                "s3proxy.endpoint=http://127.0.0.1:" + port + "\ns3proxy.authorization=none\n"
                        + "jclouds.provider=transient\njclouds.identity=peft4j\njclouds.credential=peft4j\n");
        String cp = Files.readString(ROOT.resolve("tests/s3proxy/target/classpath.txt"))
                .strip();
        Path logback = tmp.resolve("logback.xml");
        Files.writeString(
                logback,
                "<configuration><appender name=\"o\" class=\"ch.qos.logback.core.ConsoleAppender\">"
                        + "<encoder><pattern>%d %level %logger: %msg%n</pattern></encoder></appender>"
                        + "<root level=\"WARN\"><appender-ref ref=\"o\"/></root></configuration>");
        s3proxy = new ProcessBuilder(
                        ProcessHandle.current().info().command().orElse("java"),
                        "-Dlogback.configurationFile=" + logback,
                        "-cp",
                        cp,
                        "org.gaul.s3proxy.Main",
                        "--properties",
                        props.toString())
                .redirectOutput(tmp.resolve("s3proxy.log").toFile())
                .redirectErrorStream(true)
                .start();
        long deadline = System.currentTimeMillis() + 60_000;
        while (true) {
            try (Socket ignored = new Socket("127.0.0.1", port)) {
                break;
            } catch (java.io.IOException e) {
                assertTrue(
                        s3proxy.isAlive() && System.currentTimeMillis() < deadline,
                        "s3proxy did not start: " + Files.readString(tmp.resolve("s3proxy.log")));
                Thread.sleep(100);
            }
        }
        HttpURLConnection put = (HttpURLConnection)
                URI.create("http://127.0.0.1:" + port + "/peft4j").toURL().openConnection();
        put.setRequestMethod("PUT");
        assertEquals(200, put.getResponseCode(), "bucket created");
        sc = new JavaSparkContext(LocalSpark.conf("local[2]", "peft4j-s3-test")
                .set("spark.hadoop.fs.s3a.endpoint", "http://127.0.0.1:" + port)
                .set("spark.hadoop.fs.s3a.path.style.access", "true")
                .set("spark.hadoop.fs.s3a.connection.ssl.enabled", "false")
                .set(
                        "spark.hadoop.fs.s3a.aws.credentials.provider",
                        "org.apache.hadoop.fs.s3a.AnonymousAWSCredentialsProvider")
                // s3proxy rejects S3A's bulk deletes of directory markers, and S3A then retries for minutes:
                // keep markers and delete one object at a time (both fine on AWS S3 too).
                .set("spark.hadoop.fs.s3a.directory.marker.retention", "keep")
                .set("spark.hadoop.fs.s3a.multiobjectdelete.enable", "false")
                .set("spark.hadoop.fs.s3a.retry.limit", "2")
                .set("spark.hadoop.fs.s3a.attempts.maximum", "2"));
        Locations.useHadoopConfiguration(sc.hadoopConfiguration());
    }

    @AfterAll
    static void stop() throws Exception {
        if (sc != null) {
            sc.stop();
        }
        if (s3proxy != null) {
            s3proxy.destroy();
            s3proxy.waitFor(20, TimeUnit.SECONDS);
        }
    }

    JobConfig config(String output) throws Exception {
        return TestConfigs.smallQuickstart(output, "train.rounds=4", "checkpoint.every=1", "checkpoint.keep=10");
    }

    @Test
    void checkpointsOnS3ResumeToTheSameBits() throws Exception {
        AdapterState straight = RoundLoop.run(
                        sc, config(tmp.resolve("local").toString()), new PrintStream(new ByteArrayOutputStream()))
                .state();
        String out = "s3a://peft4j/runs/interrupted";
        JobConfig c = config(out);
        RoundLoop.run(sc, c, new PrintStream(new ByteArrayOutputStream()));
        FileSystem fs = new org.apache.hadoop.fs.Path(out).getFileSystem(sc.hadoopConfiguration());
        assertTrue(fs.exists(new org.apache.hadoop.fs.Path(out + "/checkpoints/step-0000000008/MANIFEST.json")));
        assertTrue(fs.exists(new org.apache.hadoop.fs.Path(out + "/metrics.jsonl")));
        // The crash: the last checkpoint lost its manifest (S3 has no atomic rename: the manifest is the marker).
        fs.delete(new org.apache.hadoop.fs.Path(out + "/checkpoints/step-0000000008/MANIFEST.json"), false);
        fs.delete(new org.apache.hadoop.fs.Path(out + "/final"), true);
        RoundLoop.Outcome resumed = RoundLoop.run(sc, c, new PrintStream(new ByteArrayOutputStream()));
        assertEquals(3, resumed.resumedFromRound());
        AdapterStates.assertBitEqual(straight, resumed.state());
        assertTrue(fs.exists(new org.apache.hadoop.fs.Path(out + "/final/adapter_model.safetensors")));
    }
}
