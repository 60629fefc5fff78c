package org.peft4j.datasets.shard;

/**
 * A weighted mixture of datasets. Dataset i, of n_i records with weight w_i, contributes about
 * {@code total * w_i / sum(w)} records: each of its records appears floor(f_i) times plus once more when its key's
 * unit value is below the fraction of f_i = total * w_i / (sum(w) * n_i). Decided record by record from the stable
 * key, so it needs no global view of the data (it runs inside Spark executors) and repeats exactly across runs.
 */
public final class Mixture {
    private final double[] factor;

    /**
     * @param counts records per dataset
     * @param weights non-negative mixture weights, not all zero
     * @param total records in the mixture; the sum of counts keeps the data's size
     */
    public Mixture(long[] counts, double[] weights, long total) {
        if (counts.length != weights.length || counts.length == 0) {
            throw new IllegalArgumentException("a mixture needs one weight per dataset, found " + weights.length
                    + " weights for " + counts.length + " datasets");
        }
        double sum = 0;
        for (int i = 0; i < weights.length; i++) {
            if (!(weights[i] >= 0)) {
                throw new IllegalArgumentException("mixture weight " + i + " must be >= 0, found " + weights[i]);
            }
            sum += weights[i];
        }
        if (sum == 0) {
            throw new IllegalArgumentException("mixture weights are all zero");
        }
        factor = new double[counts.length];
        for (int i = 0; i < counts.length; i++) {
            factor[i] = counts[i] == 0 ? 0 : total * weights[i] / sum / counts[i];
        }
    }

    /** How many times the record with this key from dataset i appears in the mixture. */
    public int copies(int dataset, long key) {
        double f = factor[dataset];
        int whole = (int) Math.floor(f);
        return whole + (ShardKey.unit(ShardKey.mix(key ^ dataset)) < f - whole ? 1 : 0);
    }
}
