package org.peft4j.job.rounds;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.broadcast.Broadcast;
import org.peft4j.datasets.batch.PaddedBatch;
import org.peft4j.datasets.batch.TokenizedExample;
import org.peft4j.datasets.shard.ShardKey;
import org.peft4j.job.state.AdapterState;
import org.peft4j.job.worker.BatchPlan;
import org.peft4j.job.worker.RunSpec;
import org.peft4j.job.worker.Worker;
import org.peft4j.job.worker.WorkerCache;
import scala.Tuple2;

/**
 * One partition's part of a round, run inside a Spark task: borrow the executor's cached worker (the base model is
 * loaded once per task slot), load the round's broadcast state, train the round's local steps on this partition's
 * shard, and return the example-weighted sums the driver averages. Tests call {@link #train} on a worker directly.
 */
public final class ExecutorStep
        implements Function2<Integer, Iterator<TokenizedExample>, Iterator<Tuple2<Integer, PartitionResult>>> {
    private final Broadcast<RunSpec> spec;
    private final Broadcast<RoundInput> input;

    public ExecutorStep(Broadcast<RunSpec> spec, Broadcast<RoundInput> input) {
        this.spec = spec;
        this.input = input;
    }

    @Override
    public Iterator<Tuple2<Integer, PartitionResult>> call(Integer partition, Iterator<TokenizedExample> it)
            throws Exception {
        List<TokenizedExample> shard = new ArrayList<>();
        it.forEachRemaining(shard::add);
        Worker w = WorkerCache.borrow(spec.value());
        try {
            return List.of(new Tuple2<>(partition, train(w, input.value(), shard, partition)))
                    .iterator();
        } finally {
            WorkerCache.release(w);
        }
    }

    /**
     * Loads the round's state into {@code w}, runs one step per learning rate of the round on shard {@code partition}
     * (step s reads the plan's batch s, so any worker can take over any partition at any step), and returns the
     * worker's new state and the method's aggregation extras, weighted by the sequences trained on.
     */
    public static PartitionResult train(Worker w, RoundInput in, List<TokenizedExample> shard, int partition) {
        var c = w.spec().config();
        AdapterState.fromBytes(in.state(), "round " + in.round()).applyTo(w.adapters(), w.optimizer());
        w.adapters().setTotalSteps(in.totalSteps());
        BatchPlan plan = new BatchPlan(
                shard,
                c.data().batchRows(),
                w.model().tokenizer().padId(),
                c.run().seed(),
                partition);
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
        }
        return PartitionResult.of(
                AdapterState.viewOf(w.adapters(), w.optimizer()),
                w.adapters().aggregation().extras(w.adapters()),
                rows,
                stats);
    }

    /** The adapter-dropout seed of a step: the same for that step wherever it runs. */
    public static long dropoutSeed(long runSeed, int partition, long step) {
        return ShardKey.of(runSeed, "dropout", Integer.toString(partition), Long.toString(step));
    }
}
