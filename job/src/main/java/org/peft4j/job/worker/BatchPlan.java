package org.peft4j.job.worker;

import java.util.List;
import org.peft4j.adapters.model.TokenBatch;
import org.peft4j.datasets.batch.Batcher;
import org.peft4j.datasets.batch.PaddedBatch;
import org.peft4j.datasets.batch.TokenizedExample;
import org.peft4j.datasets.shard.ShardKey;

/**
 * The batches of one shard as a function of the step: epoch e is the shard batched with seed (run seed, partition,
 * e); step s reads batch s mod (batches per epoch) of epoch s / (batches per epoch). Any executor can therefore
 * start at any step, which is what resuming needs: the data position is the global step.
 */
public final class BatchPlan {
    private final List<TokenizedExample> shard;
    private final int rows;
    private final int padId;
    private final long seed;
    private final int partition;
    private final int perEpoch;
    private long epoch = -1;
    private List<PaddedBatch> batches;

    public BatchPlan(List<TokenizedExample> shard, int rows, int padId, long seed, int partition) {
        if (shard.isEmpty()) {
            throw new IllegalArgumentException("shard " + partition + " is empty: use fewer executors or more data");
        }
        this.shard = shard;
        this.rows = rows;
        this.padId = padId;
        this.seed = seed;
        this.partition = partition;
        this.perEpoch = epochBatches(0).size();
    }

    public PaddedBatch batch(long step) {
        long e = step / perEpoch;
        if (e != epoch) {
            batches = epochBatches(e);
            epoch = e;
        }
        return batches.get((int) (step % perEpoch));
    }

    private List<PaddedBatch> epochBatches(long e) {
        return Batcher.batches(
                shard, rows, 8, padId, ShardKey.of(seed, "batches", Integer.toString(partition), Long.toString(e)));
    }

    /** The model's input for a padded batch. */
    public static TokenBatch toTokenBatch(PaddedBatch b) {
        return new TokenBatch(b.rows(), b.length(), b.inputIds(), b.attentionMask(), b.labels(), b.targets());
    }
}
