package org.peft4j.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
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
 * A real HDFS (MiniDFSCluster: a NameNode and a DataNode on 127.0.0.1): training data read from hdfs://,
 * checkpoints written there, the run interrupted, and resumed from HDFS to the same bits as an uninterrupted run.
 */
@Tag("cluster")
class HdfsTest {
    private static final Path ROOT = Commands.ROOT;

    @TempDir
    static Path tmp;

    static MiniDFSCluster dfs;
    static FileSystem fs;
    static String uri;
    static JavaSparkContext sc;

    @BeforeAll
    static void start() throws Exception {
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, tmp.resolve("dfs").toString());
        conf.set("dfs.namenode.rpc-bind-host", "127.0.0.1");
        conf.set("dfs.datanode.address", "127.0.0.1:0");
        conf.set("dfs.datanode.http.address", "127.0.0.1:0");
        conf.set("dfs.datanode.ipc.address", "127.0.0.1:0");
        conf.set("dfs.namenode.http-address", "127.0.0.1:0");
        dfs = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
        dfs.waitActive();
        fs = dfs.getFileSystem();
        uri = fs.getUri().toString();
        fs.copyFromLocalFile(
                new org.apache.hadoop.fs.Path(
                        ROOT.resolve("conf/samples/commonsense_eval.json").toString()),
                new org.apache.hadoop.fs.Path(uri + "/data/train.json"));
        sc = new JavaSparkContext(LocalSpark.conf("local[2]", "peft4j-hdfs-test"));
        Locations.useHadoopConfiguration(sc.hadoopConfiguration());
    }

    @AfterAll
    static void stop() throws Exception {
        sc.stop();
        fs.close();
        dfs.shutdown();
    }

    JobConfig config(String output) throws Exception {
        return TestConfigs.smallQuickstart(
                output,
                "data.train=[{dataset = commonsense, path = \"" + uri + "/data/train.json\"}]",
                "train.rounds=4",
                "checkpoint.every=1",
                "checkpoint.keep=10");
    }

    AdapterState run(JobConfig c) throws Exception {
        return RoundLoop.run(sc, c, new PrintStream(new ByteArrayOutputStream()))
                .state();
    }

    @Test
    void checkpointsOnHdfsResumeToTheSameBits() throws Exception {
        AdapterState straight = run(config(tmp.resolve("local-run").toString()));

        String out = uri + "/runs/interrupted";
        JobConfig c = config(out);
        run(c);
        org.apache.hadoop.fs.Path ckpts = new org.apache.hadoop.fs.Path(out + "/checkpoints");
        assertEquals(4, fs.listStatus(ckpts).length);
        assertTrue(fs.exists(new org.apache.hadoop.fs.Path(out + "/checkpoints/step-0000000004/MANIFEST.json")));
        assertTrue(fs.exists(new org.apache.hadoop.fs.Path(out + "/metrics.jsonl")));
        assertTrue(fs.exists(new org.apache.hadoop.fs.Path(out + "/final/adapter_model.safetensors")));
        // The crash: rounds 3 and 4 are lost, and round 3's checkpoint was left half-written (no manifest).
        fs.delete(new org.apache.hadoop.fs.Path(out + "/checkpoints/step-0000000008"), true);
        fs.delete(new org.apache.hadoop.fs.Path(out + "/checkpoints/step-0000000006/MANIFEST.json"), false);
        fs.delete(new org.apache.hadoop.fs.Path(out + "/final"), true);

        RoundLoop.Outcome resumed = RoundLoop.run(sc, c, new PrintStream(new ByteArrayOutputStream()));
        assertEquals(2, resumed.resumedFromRound(), "resumed after round 2, skipping the half-written step 6");
        AdapterStates.assertBitEqual(straight, resumed.state());
        assertTrue(fs.exists(new org.apache.hadoop.fs.Path(out + "/final/adapter_config.json")));
    }
}
