package org.peft4j.job.rounds;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.broadcast.Broadcast;
import org.peft4j.datasets.batch.PaddedBatch;
import org.peft4j.datasets.batch.TokenizedExample;
import org.peft4j.datasets.shard.ShardKey;
import org.peft4j.job.state.StateSlice;
import org.peft4j.job.worker.BatchPlan;
import org.peft4j.job.worker.RunSpec;
import org.peft4j.job.worker.Worker;
import org.peft4j.job.worker.WorkerCache;
import scala.Tuple2;

/**
 * One partition's part of a round, run inside a Spark task: borrow the executor's cached worker (the base model is
 * loaded once per task slot), bring its adapters up to date ({@link WorkerUpdate}), train the round's local steps on
 * this partition's shard, and return the rows that could change, weighted for the driver's average.
 */
public final class ExecutorStep
        implements Function2<Integer, Iterator<TokenizedExample>, Iterator<Tuple2<Integer, PartitionResult>>> {
    private final Broadcast<RunSpec> spec;
    private final WorkerUpdate update;
    private final StepProgress progress;

    /** @param progress the named accumulators steps and tokens are counted in */
    ExecutorStep(Broadcast<RunSpec> spec, WorkerUpdate update, StepProgress progress) {
        this.spec = spec;
        this.update = update;
        this.progress = progress;
    }

    @Override
    public Iterator<Tuple2<Integer, PartitionResult>> call(Integer partition, Iterator<TokenizedExample> it)
            throws Exception {
        List<TokenizedExample> shard = new ArrayList<>();
        it.forEachRemaining(shard::add);
        Worker w = WorkerCache.borrow(spec.value());
        try {
            long t0 = System.nanoTime();
            RoundInput in = update.apply(w);
            PartitionResult r = train(w, in, shard, partition, progress);
            return List.of(new Tuple2<>(partition, r.timed((System.nanoTime() - t0) / 1e9)))
                    .iterator();
        } finally {
            WorkerCache.release(w);
        }
    }

    /**
     * Applies {@code settled} (in order) and the round's live rows to {@code w}, then trains the round as
     * {@link #train(Worker, RoundInput, List, int, StepProgress)}.
     */
    public static PartitionResult train(
            Worker w, RoundInput in, List<StateSlice> settled, List<TokenizedExample> shard, int partition) {
        WorkerUpdate.apply(w, in, settled);
        return train(w, in, shard, partition, StepProgress.NONE);
    }

    /**
     * Runs one step per learning rate of the round on shard {@code partition} of a worker holding the round's state
     * (step s reads the plan's batch s, so any worker can take over any partition at any step), and returns the rows
     * that could change, weighted by the sequences trained on.
     */
    static PartitionResult train(
            Worker w, RoundInput in, List<TokenizedExample> shard, int partition, StepProgress progress) {
        var c = w.spec().config();
        w.adapters().setTotalSteps(in.totalSteps());
        w.adapters().onStep(in.step());
        int[] returned = RoundRows.returnedFrom(in.live(), w.adapters());
        BatchPlan plan = new BatchPlan(
                shard,
                c.data().batchRows(),
                w.model().tokenizer().padId(),
                c.run().seed(),
                partition,
                c.data().groupByLength());
        PartitionResult.Stats stats = new PartitionResult.Stats(0, 0, 0, 0, 0);
        double rows = 0;
        for (int k = 0; k < in.lrs().length; k++) {
            long s = in.step() + k;
            PaddedBatch b = plan.batch(s);
            var r = w.trainer()
                    .step(
                            BatchPlan.microBatches(b, c.data().microBatchRows()),
                            s,
                            in.lrs()[k],
                            dropoutSeed(c.run().seed(), partition, s));
            stats = stats.plus(
                    new PartitionResult.Stats(r.loss().sum(), r.loss().count(), b.realTokens(), r.gradNorm(), 1));
            rows += b.rows();
            progress.stepDone(b.realTokens());
        }
        return PartitionResult.of(
                StateSlice.of(w.adapters(), w.optimizer(), returned, true),
                w.adapters().aggregation().extras(w.adapters()),
                rows,
                stats);
    }

    /** The adapter-dropout seed of a step: the same for that step wherever it runs. */
    public static long dropoutSeed(long runSeed, int partition, long step) {
        return ShardKey.of(runSeed, "dropout", Integer.toString(partition), Long.toString(step));
    }
}
