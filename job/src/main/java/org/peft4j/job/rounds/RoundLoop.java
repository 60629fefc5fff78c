package org.peft4j.job.rounds;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.nd4j.linalg.api.buffer.DataType;
import org.peft4j.datasets.batch.TokenizedExample;
import org.peft4j.job.checkpoint.BestAdapter;
import org.peft4j.job.checkpoint.CheckpointFiles;
import org.peft4j.job.checkpoint.CheckpointStore;
import org.peft4j.job.checkpoint.RunLayout;
import org.peft4j.job.config.JobConfig;
import org.peft4j.job.eval.EvalRecords;
import org.peft4j.job.eval.Evaluator;
import org.peft4j.job.metrics.MetricsLog;
import org.peft4j.job.metrics.RoundMetrics;
import org.peft4j.job.state.AdapterState;
import org.peft4j.job.worker.RunSpec;
import org.peft4j.job.worker.Worker;

/**
 * The driver: rounds of local training on the executors with adapter-only averaging.
 *
 * <p>One round: broadcast the adapter state (tensors that can change, optimizer moments, step) and the round's
 * learning rates; every partition runs the {@link ExecutorStep} on its shard; a {@link PairwiseTreeSum} adds the
 * results; the driver divides by the total weight and keeps the result as the next state. The frozen base model
 * never travels.
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
        Worker driver = Worker.build(spec);
        log.println("peft4j: resolved configuration\n" + c.rendered());
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
        Broadcast<RunSpec> specB = sc.broadcast(spec);
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
        for (int r = startRound; r < train.rounds(); r++) {
            long t0 = System.nanoTime();
            byte[] state =
                    AdapterState.viewOf(driver.adapters(), driver.optimizer()).toBytes();
            double[] lrs = learningRates(train, step);
            Broadcast<RoundInput> in = sc.broadcast(new RoundInput(r, step, train.totalSteps(), state, lrs));
            PartitionResult total = PairwiseTreeSum.of(
                    data.shards().mapPartitionsWithIndex(new ExecutorStep(specB, in), true),
                    c.spark().executors());
            in.destroy();
            total.average(DataType.FLOAT).applyTo(driver.adapters(), driver.optimizer());
            driver.adapters().aggregation().fold(driver.adapters(), total.averageExtras(DataType.FLOAT));
            step += train.localSteps();
            double seconds = (System.nanoTime() - t0) / 1e9;

            boolean last = r == train.rounds() - 1;
            Map<String, Object> eval = evalRecords != null && due(r, c.eval().every(), last)
                    ? Evaluator.evaluate(driver, c, evalRecords)
                    : Map.of();
            lastEval = eval.isEmpty() ? lastEval : eval;
            if (!eval.isEmpty() && best.offer(eval, driver.adapters(), r, step)) {
                log.println("peft4j: best " + c.checkpoint().best().metric() + " so far, adapter written to "
                        + RunLayout.bestDir(c.run().output()));
            }
            var stats = total.stats();
            RoundMetrics m = new RoundMetrics(
                    r,
                    step,
                    stats.lossSum() / stats.lossCount(),
                    lrs[lrs.length - 1],
                    stats.gradNormSum() / stats.steps(),
                    (long) total.weight(),
                    stats.tokens(),
                    seconds,
                    state.length,
                    total.payloadBytes() * c.spark().executors(),
                    eval);
            metrics.append(m.toMap());
            rounds.add(m.toMap());
            log.println(m.progressLine(train.rounds()));
            if (due(r, c.checkpoint().every(), last)) {
                var files = CheckpointFiles.of(driver.adapters(), driver.optimizer(), c, r, step, best.value());
                log.println("peft4j: checkpoint " + store.write(step, files));
            }
        }
        String fin = RunLayout.finalDir(c.run().output());
        CheckpointFiles.writeAdapter(fin, driver.adapters(), c.model().path());
        log.println("peft4j: adapter written to " + fin);
        data.shards().unpersist();
        return new Outcome(
                step, startRound, AdapterState.viewOf(driver.adapters(), driver.optimizer()), rounds, lastEval);
    }

    /** PEFT's line: trainable values, and base plus every adapter tensor. */
    static String parameterLine(Worker w) {
        long base = w.model().model().config().parameterCount();
        long trainable = w.adapters().trainableCount();
        long adapters = w.adapters().params().values().stream()
                .mapToLong(p -> p.value().length())
                .sum();
        return String.format(
                "trainable params: %,d || all params: %,d || trainable%%: %.4f",
                trainable, base + adapters, 100.0 * trainable / (base + adapters));
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
