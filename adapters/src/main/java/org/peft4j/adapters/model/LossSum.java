package org.peft4j.adapters.model;

/** A summed loss and the number of terms in it, so that shards and batches average exactly. */
public record LossSum(double sum, long count) {
    public static final LossSum ZERO = new LossSum(0, 0);

    public double mean() {
        return count == 0 ? Double.NaN : sum / count;
    }

    public LossSum plus(LossSum o) {
        return new LossSum(sum + o.sum, count + o.count);
    }
}
