package org.peft4j.job.rounds;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.peft4j.job.state.AdapterState;

/**
 * One partition's round, as example-weighted sums: {@code weight * value} for every tensor and moment (in double,
 * so that one partition averages back to its exact values), plus the weight (sequences trained on) and its
 * {@link Stats}. Sums add up across partitions; the driver divides by the total weight.
 */
public record PartitionResult(
        double weight,
        Stats stats,
        long optimizerSteps,
        LinkedHashMap<String, double[]> sums,
        LinkedHashMap<String, long[]> shapes)
        implements Serializable {
    private static final String TENSOR = "t/";
    private static final String MOMENT = "m/";
    private static final String EXTRA = "x/";

    /**
     * What a round's steps did, summed: loss over its count (tokens or rows), tokens, and the pre-clipping gradient
     * norms of the steps.
     */
    public record Stats(double lossSum, long lossCount, long tokens, double gradNormSum, long steps)
            implements Serializable {
        public Stats plus(Stats o) {
            return new Stats(
                    lossSum + o.lossSum,
                    lossCount + o.lossCount,
                    tokens + o.tokens,
                    gradNormSum + o.gradNormSum,
                    steps + o.steps);
        }
    }

    /** @param extras the method's aggregation extras (e.g. LoRA's s A B per target), summed like the tensors */
    public static PartitionResult of(AdapterState s, Map<String, INDArray> extras, double weight, Stats stats) {
        LinkedHashMap<String, double[]> sums = new LinkedHashMap<>();
        LinkedHashMap<String, long[]> shapes = new LinkedHashMap<>();
        put(s.tensors(), TENSOR, weight, sums, shapes);
        put(s.moments(), MOMENT, weight, sums, shapes);
        put(new java.util.TreeMap<>(extras), EXTRA, weight, sums, shapes);
        return new PartitionResult(weight, stats, s.optimizerSteps(), sums, shapes);
    }

    private static void put(
            Map<String, INDArray> m,
            String prefix,
            double weight,
            Map<String, double[]> sums,
            Map<String, long[]> shapes) {
        m.forEach((k, v) -> {
            double[] d = v.dup('c').data().asDouble();
            for (int i = 0; i < d.length; i++) {
                d[i] *= weight;
            }
            sums.put(prefix + k, d);
            shapes.put(prefix + k, v.shape());
        });
    }

    /** Element-wise sum. Addition of two doubles commutes exactly, so pairwise trees give the same bits in any order. */
    public PartitionResult plus(PartitionResult o) {
        if (!sums.keySet().equals(o.sums.keySet()) || optimizerSteps != o.optimizerSteps) {
            throw new IllegalStateException("executors returned different adapter states: " + sums.keySet()
                    + " at optimizer step " + optimizerSteps + " vs " + o.sums.keySet() + " at " + o.optimizerSteps);
        }
        LinkedHashMap<String, double[]> out = new LinkedHashMap<>();
        sums.forEach((k, a) -> {
            double[] b = o.sums.get(k);
            double[] c = new double[a.length];
            for (int i = 0; i < a.length; i++) {
                c[i] = a[i] + b[i];
            }
            out.put(k, c);
        });
        return new PartitionResult(weight + o.weight, stats.plus(o.stats), optimizerSteps, out, shapes);
    }

    /** The example-weighted average state. */
    public AdapterState average(DataType type) {
        return new AdapterState(averages(TENSOR, type), averages(MOMENT, type), optimizerSteps);
    }

    /** The example-weighted average of each aggregation extra, by name. */
    public Map<String, INDArray> averageExtras(DataType type) {
        return averages(EXTRA, type);
    }

    /** sum / total weight of every entry under {@code prefix}, by name without it. */
    private Map<String, INDArray> averages(String prefix, DataType type) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        sums.forEach((k, s) -> {
            if (k.startsWith(prefix)) {
                double[] d = new double[s.length];
                for (int i = 0; i < s.length; i++) {
                    d[i] = s[i] / weight;
                }
                out.put(k.substring(prefix.length()), Nd4j.create(d, shapes.get(k), type));
            }
        });
        return out;
    }

    /** Bytes of the sums, what one partition sends back. */
    public long payloadBytes() {
        return sums.values().stream().mapToLong(a -> 8L * a.length).sum();
    }
}
