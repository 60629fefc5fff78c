package org.peft4j.job.rounds;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.nd4j.linalg.api.buffer.DataType;
import org.peft4j.adapters.io.AdapterCheckpoint;
import org.peft4j.adapters.model.LossSum;
import org.peft4j.datasets.batch.PaddedBatch;
import org.peft4j.datasets.batch.TokenizedExample;
import org.peft4j.job.checkpoint.CheckpointStore;
import org.peft4j.job.config.JobConfig;
import org.peft4j.job.eval.Evaluator;
import org.peft4j.job.fs.Locations;
import org.peft4j.job.metrics.MetricsLog;
import scala.Tuple2;

/**
 * The driver: rounds of local training on the executors with adapter-only averaging.
 *
 * <p>One round: broadcast the adapter state (tensors that can change, optimizer moments, step) and the round's
 * learning rates; every partition loads it into its executor's cached worker, trains {@code local_steps} steps on
 * its shard and returns example-weighted sums; a pairwise tree sums them (two operands per addition, so the result
 * is the same bits whatever order tasks finish in); the driver divides by the total weight and keeps the result as
 * the next state. The frozen base model never travels.
 */
public final class RoundLoop {
    public static final String STATE = "state.safetensors";
    static final String TRAINER = "trainer_state.json";
    static final String RUN_CONF = "run.conf";
    public static final String FINAL = "final";
    private static final ObjectMapper JSON = new ObjectMapper();

    private RoundLoop() {}

    /** What a run ends with. */
    public record Outcome(
            long globalStep,
            int resumedFromRound,
            AdapterState state,
            List<Map<String, Object>> rounds,
            Map<String, Object> lastEval) {}

    public static Outcome run(JobConfig c, PrintStream log) throws Exception {
        SparkConf conf = new SparkConf().setAppName("peft4j " + c.run().output());
        if (!conf.contains("spark.master")) {
            conf.setMaster(c.spark().master());
        }
        conf.setIfMissing("spark.ui.enabled", "false");
        // Java serialization (Spark's default): what travels is byte[] and double[] payloads plus a few records,
        // and Kryo 4 cannot construct Java records.
        c.spark().conf().forEach(conf::set);
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            Locations.useHadoopConfiguration(sc.hadoopConfiguration());
            return run(sc, c, log);
        }
    }

    public static Outcome run(JavaSparkContext sc, JobConfig c, PrintStream log) throws Exception {
        return run(sc, c, log, null);
    }

    /**
     * @param shards training shards to use instead of reading {@code data.train} (tests that need exact control of
     *     what each partition holds); one partition per executor
     */
    static Outcome run(JavaSparkContext sc, JobConfig c, PrintStream log, JavaRDD<TokenizedExample> shards)
            throws Exception {
        RunSpec spec = RunSpec.fresh(c);
        Worker driver = new Worker(spec);
        log.println("peft4j: resolved configuration\n" + c.rendered());
        long base = driver.model().model().config().parameterCount();
        long trainable = driver.adapters().trainableCount();
        long adapterAll = driver.adapters().params().values().stream()
                .mapToLong(p -> p.value().length())
                .sum();
        log.printf(
                "trainable params: %,d || all params: %,d || trainable%%: %.4f%n",
                trainable, base + adapterAll, 100.0 * trainable / (base + adapterAll));

        CheckpointStore store = new CheckpointStore(
                Locations.child(c.run().output(), "checkpoints"), c.checkpoint().keep());
        long step = 0;
        int startRound = 0;
        Optional<CheckpointStore.Loaded> ck = store.latest();
        if (ck.isPresent()) {
            JsonNode t = JSON.readTree(ck.get().files().get(TRAINER));
            checkFingerprint(c, t.path("fingerprint"), ck.get().dir());
            AdapterState.fromBytes(ck.get().files().get(STATE), ck.get().dir() + "/" + STATE)
                    .applyTo(driver.adapters(), driver.optimizer());
            step = t.path("global_step").asLong();
            startRound = t.path("round").asInt() + 1;
            log.printf(
                    "peft4j: resuming from %s (round %d done, global step %d)%n",
                    ck.get().dir(), startRound - 1, step);
        }
        MetricsLog metrics = new MetricsLog(c.run().output(), ck.isPresent());
        Broadcast<RunSpec> specB = sc.broadcast(spec);
        TrainData.Prepared data =
                shards != null ? new TrainData.Prepared(shards, shards.count(), 0, 0, 0) : TrainData.prepare(sc, specB);
        log.printf(
                "peft4j: %,d training examples in %d shards (%,d records read, %,d skipped, %,d truncated to %d"
                        + " tokens)%n",
                data.examples(),
                c.spark().executors(),
                data.read(),
                data.skipped(),
                data.truncated(),
                c.data().maxLength());
        List<Map<String, Object>> rounds = new ArrayList<>();
        Map<String, Object> lastEval = Map.of();
        for (int r = startRound; r < c.train().rounds(); r++) {
            long t0 = System.nanoTime();
            byte[] state =
                    AdapterState.of(driver.adapters(), driver.optimizer()).toBytes();
            double[] lrs = new double[c.train().localSteps()];
            for (int k = 0; k < lrs.length; k++) {
                lrs[k] = LrSchedule.at(c.train(), step + k);
            }
            Broadcast<RoundInput> in = sc.broadcast(new RoundInput(r, step, state, lrs));
            PartitionResult total = round(data.shards(), specB, in, c.spark().executors());
            in.destroy();
            total.average(DataType.FLOAT).applyTo(driver.adapters(), driver.optimizer());
            ProductAggregation.foldResidual(driver.adapters(), total.averageProducts(DataType.FLOAT));
            step += c.train().localSteps();
            double seconds = (System.nanoTime() - t0) / 1e9;
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("round", r);
            m.put("global_step", step);
            m.put("loss", total.lossSum() / total.lossCount());
            m.put("lr", lrs[lrs.length - 1]);
            m.put("sequences", (long) total.weight());
            m.put("tokens", total.tokens());
            m.put("tokens_per_s", total.tokens() / seconds);
            m.put("broadcast_bytes", (long) state.length);
            m.put("aggregated_bytes", total.payloadBytes() * c.spark().executors());
            m.put("seconds", seconds);
            boolean last = r == c.train().rounds() - 1;
            if (c.data().evalPath() != null
                    && (last || (c.eval().every() > 0 && (r + 1) % c.eval().every() == 0))) {
                lastEval = Evaluator.evaluate(driver, c);
                m.putAll(lastEval);
            }
            metrics.append(m);
            rounds.add(m);
            log.printf(
                    "round %d/%d  step %d  loss %.4f  %.0f tokens/s  broadcast %,d B  aggregated %,d B  %.1f s%s%n",
                    r + 1,
                    c.train().rounds(),
                    step,
                    (double) m.get("loss"),
                    (double) m.get("tokens_per_s"),
                    state.length,
                    total.payloadBytes() * c.spark().executors(),
                    seconds,
                    lastEval.isEmpty() || !m.containsKey("eval_records") ? "" : "  eval " + lastEval);
            if (last || (c.checkpoint().every() > 0 && (r + 1) % c.checkpoint().every() == 0)) {
                String dir = store.write(step, checkpointFiles(driver, c, r, step));
                log.println("peft4j: checkpoint " + dir);
            }
        }
        var files = AdapterCheckpoint.toBytes(driver.adapters(), c.model().path());
        String fin = Locations.child(c.run().output(), FINAL);
        Locations.write(fin, AdapterCheckpoint.CONFIG, o -> o.write(files.config()));
        Locations.write(fin, AdapterCheckpoint.TENSORS, o -> o.write(files.tensors()));
        log.println("peft4j: adapter written to " + fin);
        data.shards().unpersist();
        return new Outcome(step, startRound, AdapterState.of(driver.adapters(), driver.optimizer()), rounds, lastEval);
    }

    /** One round on the executors, summed by a deterministic pairwise tree. */
    static PartitionResult round(
            JavaRDD<TokenizedExample> shards, Broadcast<RunSpec> specB, Broadcast<RoundInput> inB, int partitions) {
        JavaRDD<Tuple2<Integer, PartitionResult>> results = shards.mapPartitionsWithIndex(
                (p, it) -> {
                    RoundInput in = inB.value();
                    RunSpec spec = specB.value();
                    JobConfig c = spec.config();
                    List<TokenizedExample> shard = new ArrayList<>();
                    it.forEachRemaining(shard::add);
                    Worker w = WorkerCache.borrow(spec);
                    try {
                        AdapterState.fromBytes(in.state(), "round " + in.round())
                                .applyTo(w.adapters(), w.optimizer());
                        BatchPlan plan = new BatchPlan(
                                shard,
                                c.data().batchRows(),
                                w.model().tokenizer().padId(),
                                c.run().seed(),
                                p);
                        LossSum loss = LossSum.ZERO;
                        double rows = 0;
                        long tokens = 0;
                        for (int k = 0; k < in.lrs().length; k++) {
                            long s = in.step() + k;
                            PaddedBatch b = plan.batch(s);
                            loss = loss.plus(w.trainer().step(BatchPlan.toTokenBatch(b), s, in.lrs()[k]));
                            rows += b.rows();
                            tokens += b.realTokens();
                        }
                        PartitionResult pr = PartitionResult.of(
                                AdapterState.of(w.adapters(), w.optimizer()),
                                ProductAggregation.products(w.adapters()),
                                rows,
                                loss.sum(),
                                loss.count(),
                                tokens);
                        return List.of(new Tuple2<>(p, pr)).iterator();
                    } finally {
                        WorkerCache.release(w);
                    }
                },
                true);
        JavaPairRDD<Integer, PartitionResult> level = results.mapToPair(t -> t);
        int n = partitions;
        while (n > 1) {
            n = (n + 1) / 2;
            level = level.mapToPair(t -> new Tuple2<>(t._1() / 2, t._2())).reduceByKey(PartitionResult::plus, n);
        }
        List<PartitionResult> out = level.values().collect();
        if (out.size() != 1) {
            throw new IllegalStateException("expected one aggregate, found " + out.size());
        }
        return out.get(0);
    }

    static Map<String, byte[]> checkpointFiles(Worker driver, JobConfig c, int round, long step) throws IOException {
        var adapter = AdapterCheckpoint.toBytes(driver.adapters(), c.model().path());
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("round", round);
        t.put("global_step", step);
        t.put("peft4j_version", AdapterCheckpoint.VERSION);
        t.put("seed", c.run().seed());
        t.put(
                "data_position",
                new java.util.TreeMap<>(Map.of(
                        "global_step",
                        step,
                        "scheme",
                        "shard p, step s: batch s mod n of epoch s / n, batched with seed (run seed, p, epoch)")));
        t.put("fingerprint", fingerprint(c));
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put(AdapterCheckpoint.CONFIG, adapter.config());
        files.put(AdapterCheckpoint.TENSORS, adapter.tensors());
        files.put(STATE, AdapterState.of(driver.adapters(), driver.optimizer()).toBytes());
        files.put(TRAINER, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(t));
        files.put(RUN_CONF, c.rendered().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return files;
    }

    /** The settings a resumed run must share with the checkpoint for the result to be the same. */
    static Map<String, String> fingerprint(JobConfig c) {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("model.path", c.model().path());
        f.put("adapter.method", c.adapter().method());
        f.put("adapter.rank", Integer.toString(c.adapter().rank()));
        f.put("adapter.alpha", Double.toString(c.adapter().alpha()));
        f.put("adapter.targets", c.adapter().targets().toString());
        f.put("adapter.options", c.adapter().optionsAsMap().toString());
        f.put("run.seed", Long.toString(c.run().seed()));
        f.put("data.task", c.data().task());
        f.put("data.train", c.data().train().toString());
        f.put("data.template", c.data().template());
        f.put("data.max_length", Integer.toString(c.data().maxLength()));
        f.put("data.batch_rows", Integer.toString(c.data().batchRows()));
        f.put("train.rounds", Integer.toString(c.train().rounds()));
        f.put("train.local_steps", Integer.toString(c.train().localSteps()));
        f.put("train.optimizer", c.train().optimizer());
        f.put("train.lr", Double.toString(c.train().lr()));
        f.put("train.lr_schedule", c.train().lrSchedule());
        f.put("train.warmup_steps", Integer.toString(c.train().warmupSteps()));
        f.put("train.weight_decay", Double.toString(c.train().weightDecay()));
        f.put("spark.executors", Integer.toString(c.spark().executors()));
        return f;
    }

    static void checkFingerprint(JobConfig c, JsonNode saved, String dir) {
        List<String> diffs = new ArrayList<>();
        fingerprint(c).forEach((k, v) -> {
            String s = saved.path(k).asText(null);
            if (!v.equals(s)) {
                diffs.add("peft4j." + k + ": checkpoint has " + s + ", config has " + v);
            }
        });
        if (!diffs.isEmpty()) {
            throw new IllegalArgumentException(dir + " was written by a different configuration; resuming would not"
                    + " give the run it started (use another run.output, or restore these settings):\n  "
                    + String.join("\n  ", diffs));
        }
    }
}
