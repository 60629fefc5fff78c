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
    private final boolean groupByLength;
    private final int perEpoch;
    private long epoch = -1;
    private List<PaddedBatch> batches;

    public BatchPlan(
            List<TokenizedExample> shard, int rows, int padId, long seed, int partition, boolean groupByLength) {
        if (shard.isEmpty()) {
            throw new IllegalArgumentException("shard " + partition + " is empty: use fewer executors or more data");
        }
        this.shard = shard;
        this.rows = rows;
        this.padId = padId;
        this.seed = seed;
        this.partition = partition;
        this.groupByLength = groupByLength;
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
                shard,
                rows,
                8,
                padId,
                ShardKey.of(seed, "batches", Integer.toString(partition), Long.toString(e)),
                groupByLength);
    }

    /**
     * A batch as micro-batches of {@code rows} rows each (the batch itself when it fits), each cut to its own longest
     * row (rounded up to 8, as batching pads): memory follows the micro-batch.
     */
    public static List<TokenBatch> microBatches(PaddedBatch b, int rows) {
        if (rows >= b.rows()) {
            return List.of(toTokenBatch(b));
        }
        List<TokenBatch> out = new java.util.ArrayList<>();
        for (int from = 0; from < b.rows(); from += rows) {
            int to = Math.min(b.rows(), from + rows);
            int len = 0;
            for (int r = from; r < to; r++) {
                int real = 0;
                for (int t = 0; t < b.length(); t++) {
                    real += b.attentionMask()[r * b.length() + t] != 0 ? 1 : 0;
                }
                len = Math.max(len, real);
            }
            len = Math.min(b.length(), (len + 7) / 8 * 8);
            int n = to - from;
            int[] ids = new int[n * len];
            int[] mask = new int[n * len];
            int[] labels = b.labels() == null ? null : new int[n * len];
            for (int r = 0; r < n; r++) {
                System.arraycopy(b.inputIds(), (from + r) * b.length(), ids, r * len, len);
                System.arraycopy(b.attentionMask(), (from + r) * b.length(), mask, r * len, len);
                if (labels != null) {
                    System.arraycopy(b.labels(), (from + r) * b.length(), labels, r * len, len);
                }
            }
            double[] targets = b.targets() == null ? null : java.util.Arrays.copyOfRange(b.targets(), from, to);
            out.add(new TokenBatch(n, len, ids, mask, labels, targets));
        }
        return out;
    }

    /** The model's input for a padded batch. */
    public static TokenBatch toTokenBatch(PaddedBatch b) {
        return new TokenBatch(b.rows(), b.length(), b.inputIds(), b.attentionMask(), b.labels(), b.targets());
    }
}
