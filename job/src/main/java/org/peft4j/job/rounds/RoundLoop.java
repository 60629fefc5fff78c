package org.peft4j.job.rounds;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.peft4j.datasets.batch.TokenizedExample;
import org.peft4j.job.checkpoint.BestAdapter;
import org.peft4j.job.checkpoint.CheckpointFiles;
import org.peft4j.job.checkpoint.CheckpointStore;
import org.peft4j.job.checkpoint.RunLayout;
import org.peft4j.job.config.JobConfig;
import org.peft4j.job.eval.EvalRecords;
import org.peft4j.job.metrics.MetricsLog;
import org.peft4j.job.metrics.RoundMetrics;
import org.peft4j.job.metrics.RunTotals;
import org.peft4j.job.model.ModelLoader;
import org.peft4j.job.state.AdapterState;
import org.peft4j.job.worker.DriverAdapters;
import org.peft4j.job.worker.RunSpec;
import scala.Tuple2;

/**
 * The driver: rounds of local training on the executors with adapter-only averaging.
 *
 * <p>One round: broadcast the rows of adapter tensors and moments that can still change ({@link RoundRows}: rows
 * that froze for good travel once more, then never) and the round's learning rates; every partition runs the
 * {@link ExecutorStep} on its shard and sends back the same rows; {@link PairwiseTreeSum} averages them, weighted by
 * sequences, and the driver keeps the result as the next state. The frozen base model never travels.
 */
public final class RoundLoop {
    private RoundLoop() {}

    /** What a run ends with. */
    public record Outcome(
            long globalStep,
            int resumedFromRound,
            AdapterState state,
            List<Map<String, Object>> rounds,
            Map<String, Object> lastEval) {}

    public static Outcome run(JobConfig c, PrintStream log) throws Exception {
        try (JavaSparkContext sc = SparkSetup.context(c)) {
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
        ModelLoader.Shape model = ModelLoader.shape(c.model().path(), c.model().dtype());
        log.println("peft4j: resolved configuration\n" + c.rendered());
        log.println(model.dtype().line());
        Broadcast<RunSpec> specB = sc.broadcast(spec);
        DriverAdapters driver = DriverAdapters.of(spec, model.config(), AdapterInit.fetch(sc, specB));
        log.println(parameterLine(driver));

        CheckpointStore store = new CheckpointStore(
                RunLayout.checkpoints(c.run().output()), c.checkpoint().keep());
        long step = 0;
        int startRound = 0;
        Double resumedBest = null;
        Optional<CheckpointStore.Loaded> ck = store.latest();
        if (ck.isPresent()) {
            var resume = CheckpointFiles.resume(ck.get(), c, driver.adapters(), driver.optimizer());
            step = resume.globalStep();
            startRound = resume.nextRound();
            resumedBest = resume.best();
            log.printf(
                    "peft4j: resuming from %s (round %d done, global step %d)%n", resume.dir(), startRound - 1, step);
        }
        MetricsLog metrics = new MetricsLog(c.run().output(), ck.isPresent());
        TrainData.Prepared data = shards != null
                ? new TrainData.Prepared(shards, shards.count(), 0, 0, 0, EvalRecords.NONE)
                : TrainData.prepare(sc, specB);
        log.println(data.summary(c));
        JobConfig.Train train = c.train()
                .resolve(data.examples(), c.spark().executors(), c.data().batchRows());
        if (c.train().epochs() != null) {
            log.printf(
                    "peft4j: %s epochs = %d rounds of %d steps (%d steps)%n",
                    c.train().epochs(), train.rounds(), train.localSteps(), train.totalSteps());
        }
        driver.adapters().setTotalSteps(train.totalSteps());
        EvalRecords evalRecords =
                !c.data().evaluates() ? null : c.data().evalSplit() != null ? data.heldOut() : EvalRecords.fromFile(c);
        BestAdapter best = new BestAdapter(c, resumedBest);

        List<Map<String, Object>> rounds = new ArrayList<>();
        Map<String, Object> lastEval = Map.of();
        Broadcast<EvalRecords> evalB = evalRecords == null ? null : sc.broadcast(evalRecords);
        RoundBroadcasts broadcasts = new RoundBroadcasts(sc, driver.adapters(), driver.optimizer());
        StepProgress progress = StepProgress.register(sc);
        RunTotals totals = new RunTotals();
        RoundBroadcasts.Prepared now = startRound < train.rounds()
                ? broadcasts.prepare(startRound, step, train.totalSteps(), learningRates(train, step))
                : null;
        if (evalB != null && c.eval().atStart() && step == 0 && now != null) {
            lastEval = evaluateAtStart(sc, c, specB, evalB, now, metrics, log);
        }
        for (int r = startRound; r < train.rounds(); r++) {
            long t0 = System.nanoTime();
            String label = String.format("round %d/%d", r + 1, train.rounds());
            sc.setJobDescription("peft4j " + label + ": train");
            List<PartitionResult> results;
            try (AutoCloseable p = RoundProgress.start(
                    sc,
                    progress,
                    label,
                    (long) train.localSteps() * c.spark().executors(),
                    c.run().progressSeconds(),
                    log)) {
                results = inPartitionOrder(data.shards()
                        .mapPartitionsWithIndex(new ExecutorStep(specB, now.update(), progress), true)
                        .collect());
            }
            PairwiseTreeSum.Average total = PairwiseTreeSum.of(results);
            total.state().applyTo(driver.adapters(), driver.optimizer());
            driver.adapters().aggregation().fold(driver.adapters(), total.extras());
            step += train.localSteps();
            double seconds = (System.nanoTime() - t0) / 1e9;

            // The next round's state: what the executors evaluate now and train on next.
            boolean last = r == train.rounds() - 1;
            boolean evaluate = evalB != null && due(r, c.eval().every(), last);
            RoundBroadcasts.Prepared next = !last || evaluate
                    ? broadcasts.prepare(
                            r + 1, step, train.totalSteps(), last ? new double[0] : learningRates(train, step))
                    : null;
            Map<String, Object> eval = Map.of();
            double evalSeconds = 0;
            if (evaluate) {
                sc.setJobDescription("peft4j " + label + ": eval");
                long e0 = System.nanoTime();
                eval = EvalStep.evaluate(
                        sc, specB, evalB, next.update(), c.spark().executors());
                evalSeconds = (System.nanoTime() - e0) / 1e9;
            }
            lastEval = eval.isEmpty() ? lastEval : eval;
            if (!eval.isEmpty() && best.offer(eval, driver.adapters(), r, step)) {
                log.println("peft4j: best " + c.checkpoint().best().metric() + " so far, adapter written to "
                        + RunLayout.bestDir(c.run().output()));
            }
            var stats = total.stats();
            RoundMetrics m = new RoundMetrics(
                    c.adapter().method().name(),
                    c.adapter().rank(),
                    now.trainable(),
                    r,
                    step,
                    stats.lossSum() / stats.lossCount(),
                    lrs(now)[lrs(now).length - 1],
                    stats.gradNormSum() / stats.steps(),
                    (long) total.weight(),
                    stats.tokens(),
                    seconds,
                    now.bytes(),
                    results.stream().mapToLong(PartitionResult::payloadBytes).sum(),
                    results.stream()
                            .mapToDouble(PartitionResult::taskSeconds)
                            .max()
                            .orElse(0),
                    eval);
            now.destroy();
            now = next;
            totals.add(m, train.localSteps());
            Map<String, Object> record = m.toMap();
            if (evaluate) {
                record.put("eval_seconds", evalSeconds);
            }
            // this JVM's peak resident set: the driver's, and in local mode the executors' too
            record.put("peak_rss_mb", org.peft4j.adapters.bench.ModelBench.peakRssMb());
            metrics.append(record);
            rounds.add(record);
            log.println(m.progressLine(train.rounds()));
            if (!eval.isEmpty() || last) {
                metrics.writeChart(chartTitle(c));
            }
            if (due(r, c.checkpoint().every(), last)) {
                var files = CheckpointFiles.of(driver.adapters(), driver.optimizer(), c, r, step, best.value());
                log.println("peft4j: checkpoint " + store.write(step, files));
            }
        }
        if (now != null) {
            now.destroy();
        }
        sc.setJobDescription(null);
        broadcasts.destroy();
        String fin = RunLayout.finalDir(c.run().output());
        CheckpointFiles.writeAdapter(fin, driver.adapters(), c.model().path());
        log.println("peft4j: adapter written to " + fin);
        log.println(totals.summary(
                c.checkpoint().best() == null ? null : c.checkpoint().best().metric(), best.value(), lastEval));
        data.shards().unpersist();
        return new Outcome(
                step, startRound, AdapterState.viewOf(driver.adapters(), driver.optimizer()), rounds, lastEval);
    }

    /**
     * {@code eval.at_start}: the initial adapters (which leave the base model's outputs as they are) evaluated before
     * the first round, recorded at global step 0 with no training figures. Not a candidate for {@code best/}.
     */
    private static Map<String, Object> evaluateAtStart(
            JavaSparkContext sc,
            JobConfig c,
            Broadcast<RunSpec> specB,
            Broadcast<EvalRecords> evalB,
            RoundBroadcasts.Prepared first,
            MetricsLog metrics,
            PrintStream log)
            throws IOException {
        sc.setJobDescription("peft4j before round 1: eval");
        long e0 = System.nanoTime();
        Map<String, Object> eval =
                EvalStep.evaluate(sc, specB, evalB, first.update(), c.spark().executors());
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("method", c.adapter().method().name());
        record.put("rank", c.adapter().rank());
        record.put("trainable", first.trainable());
        record.put("global_step", 0L);
        record.putAll(eval);
        record.put("eval_seconds", (System.nanoTime() - e0) / 1e9);
        record.put("peak_rss_mb", org.peft4j.adapters.bench.ModelBench.peakRssMb());
        metrics.append(record);
        log.println("before training  eval " + eval);
        return eval;
    }

    /** {@code <output>: lamda r=8 on commonsense}. */
    static String chartTitle(JobConfig c) {
        return String.format(
                "%s: %s r=%d on %s",
                c.run().output(),
                c.adapter().method().name(),
                c.adapter().rank(),
                c.data().train().stream()
                        .map(JobConfig.Source::dataset)
                        .distinct()
                        .toList());
    }

    /** PEFT's line: trainable values, and base plus every adapter tensor. */
    static String parameterLine(DriverAdapters w) {
        long base = w.config().parameterCount();
        long trainable = w.adapters().trainableCount();
        long adapters = w.adapters().params().values().stream()
                .mapToLong(p -> p.value().length())
                .sum();
        return String.format(
                "trainable params: %,d || all params: %,d || trainable%%: %.4f",
                trainable, base + adapters, 100.0 * trainable / (base + adapters));
    }

    /** The results sorted by partition: the order the average adds them in. */
    static <T> List<T> inPartitionOrder(List<Tuple2<Integer, T>> results) {
        List<Tuple2<Integer, T>> sorted = new ArrayList<>(results);
        sorted.sort(Comparator.comparing(Tuple2::_1));
        return sorted.stream().map(Tuple2::_2).toList();
    }

    private static double[] lrs(RoundBroadcasts.Prepared p) {
        return p.update().input().value().lrs();
    }

    /** The learning rate of each local step of the round starting at global step {@code step}. */
    static double[] learningRates(JobConfig.Train t, long step) {
        double[] lrs = new double[t.localSteps()];
        for (int k = 0; k < lrs.length; k++) {
            lrs[k] = LrSchedule.at(t, step + k);
        }
        return lrs;
    }

    /** Whether something done every {@code every} rounds (0 = only at the end) is due after round {@code r}. */
    static boolean due(int r, int every, boolean last) {
        return last || (every > 0 && (r + 1) % every == 0);
    }
}
