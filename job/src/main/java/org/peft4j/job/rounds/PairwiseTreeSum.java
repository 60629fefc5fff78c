package org.peft4j.job.rounds;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.peft4j.job.state.StateSlice;

/**
 * The example-weighted average of the partitions' results, summed in double in a fixed pairwise tree (partitions
 * 2k and 2k+1 at the first level, their sums at the next, ...), so the average has the same bits whatever order the
 * tasks finish in. Executors send floats; {@code weight * value} of a float and an integer weight below 2^29 is
 * exact in double, so one partition averages back to its own values bit for bit.
 */
final class PairwiseTreeSum {
    private PairwiseTreeSum() {}

    /** The average of the results, given in partition order. */
    record Average(StateSlice state, Map<String, INDArray> extras, PartitionResult.Stats stats, double weight) {}

    static Average of(List<PartitionResult> byPartition) {
        if (byPartition.isEmpty()) {
            throw new IllegalStateException("no partition returned a result");
        }
        PartitionResult first = byPartition.get(0);
        List<Sum> level = new ArrayList<>();
        for (PartitionResult r : byPartition) {
            if (!r.state().sameEntries(first.state())
                    || !r.extras().keySet().equals(first.extras().keySet())) {
                throw new IllegalStateException("executors returned different adapter states at optimizer step "
                        + first.state().optimizerSteps() + " and " + r.state().optimizerSteps());
            }
            level.add(Sum.of(r));
        }
        while (level.size() > 1) {
            List<Sum> next = new ArrayList<>();
            for (int i = 0; i < level.size(); i += 2) {
                next.add(i + 1 < level.size() ? level.get(i).plus(level.get(i + 1)) : level.get(i));
            }
            level = next;
        }
        Sum total = level.get(0);
        float[][] state = new float[total.state.length][];
        for (int e = 0; e < state.length; e++) {
            state[e] = divide(total.state[e], total.weight);
        }
        Map<String, INDArray> extras = new LinkedHashMap<>();
        int i = 0;
        for (Map.Entry<String, long[]> x : first.extraShapes().entrySet()) {
            extras.put(x.getKey(), Nd4j.create(divide(total.extras[i++], total.weight), x.getValue(), DataType.FLOAT));
        }
        return new Average(
                first.state().withValues(state, first.state().optimizerSteps()), extras, total.stats, total.weight);
    }

    private static float[] divide(double[] s, double w) {
        float[] out = new float[s.length];
        for (int i = 0; i < s.length; i++) {
            out[i] = (float) (s[i] / w);
        }
        return out;
    }

    /** Weighted sums in double. Addition of two doubles commutes exactly: a pair sums to the same bits either way. */
    private record Sum(double weight, PartitionResult.Stats stats, double[][] state, double[][] extras) {
        static Sum of(PartitionResult r) {
            double[][] s = new double[r.state().values().length][];
            for (int e = 0; e < s.length; e++) {
                s[e] = weighted(r.state().values()[e], r.weight());
            }
            double[][] x = new double[r.extras().size()][];
            int i = 0;
            for (float[] v : r.extras().values()) {
                x[i++] = weighted(v, r.weight());
            }
            return new Sum(r.weight(), r.stats(), s, x);
        }

        Sum plus(Sum o) {
            return new Sum(weight + o.weight, stats.plus(o.stats), add(state, o.state), add(extras, o.extras));
        }

        private static double[] weighted(float[] v, double w) {
            double[] d = new double[v.length];
            for (int i = 0; i < v.length; i++) {
                d[i] = v[i] * w;
            }
            return d;
        }

        private static double[][] add(double[][] a, double[][] b) {
            double[][] c = new double[a.length][];
            for (int e = 0; e < a.length; e++) {
                c[e] = new double[a[e].length];
                for (int i = 0; i < c[e].length; i++) {
                    c[e][i] = a[e][i] + b[e][i];
                }
            }
            return c;
        }
    }
}
