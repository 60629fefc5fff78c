package org.peft4j.job.rounds;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One partition's round, as example-weighted sums: {@code weight * value} for every tensor and moment (in double,
 * so that one partition averages back to its exact values), plus the weight (sequences trained on), the loss sum and
 * count, and tokens. Sums add up across partitions; the driver divides by the total weight.
 */
public final class PartitionResult implements Serializable {
    private final double weight;
    private final double lossSum;
    private final long lossCount;
    private final long tokens;
    private final long optimizerSteps;
    private final LinkedHashMap<String, double[]> sums;
    private final LinkedHashMap<String, long[]> shapes;

    private PartitionResult(
            double weight,
            double lossSum,
            long lossCount,
            long tokens,
            long optimizerSteps,
            LinkedHashMap<String, double[]> sums,
            LinkedHashMap<String, long[]> shapes) {
        this.weight = weight;
        this.lossSum = lossSum;
        this.lossCount = lossCount;
        this.tokens = tokens;
        this.optimizerSteps = optimizerSteps;
        this.sums = sums;
        this.shapes = shapes;
    }

    static final String PRODUCT = "p/";

    public static PartitionResult of(AdapterState s, double weight, double lossSum, long lossCount, long tokens) {
        return of(s, Map.of(), weight, lossSum, lossCount, tokens);
    }

    /** @param products per LoRA target with product aggregation, its s A B (summed like the tensors) */
    public static PartitionResult of(
            AdapterState s,
            Map<String, INDArray> products,
            double weight,
            double lossSum,
            long lossCount,
            long tokens) {
        LinkedHashMap<String, double[]> sums = new LinkedHashMap<>();
        LinkedHashMap<String, long[]> shapes = new LinkedHashMap<>();
        put(s.tensors(), AdapterState.TENSOR, weight, sums, shapes);
        put(s.moments(), AdapterState.MOMENT, weight, sums, shapes);
        put(new java.util.TreeMap<>(products), PRODUCT, weight, sums, shapes);
        return new PartitionResult(weight, lossSum, lossCount, tokens, s.optimizerSteps(), sums, shapes);
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
        return new PartitionResult(
                weight + o.weight,
                lossSum + o.lossSum,
                lossCount + o.lossCount,
                tokens + o.tokens,
                optimizerSteps,
                out,
                shapes);
    }

    /** The example-weighted average state. */
    public AdapterState average(DataType type) {
        Map<String, INDArray> t = new LinkedHashMap<>();
        Map<String, INDArray> m = new LinkedHashMap<>();
        sums.forEach((k, s) -> {
            double[] d = new double[s.length];
            for (int i = 0; i < s.length; i++) {
                d[i] = s[i] / weight;
            }
            INDArray a = Nd4j.create(d, shapes.get(k), type);
            if (k.startsWith(AdapterState.TENSOR)) {
                t.put(k.substring(AdapterState.TENSOR.length()), a);
            } else if (k.startsWith(AdapterState.MOMENT)) {
                m.put(k.substring(AdapterState.MOMENT.length()), a);
            }
        });
        return new AdapterState(t, m, optimizerSteps);
    }

    /** The example-weighted average of each target's s A B (product aggregation), by module path. */
    public Map<String, INDArray> averageProducts(DataType type) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        sums.forEach((k, s) -> {
            if (k.startsWith(PRODUCT)) {
                double[] d = new double[s.length];
                for (int i = 0; i < s.length; i++) {
                    d[i] = s[i] / weight;
                }
                out.put(k.substring(PRODUCT.length()), Nd4j.create(d, shapes.get(k), type));
            }
        });
        return out;
    }

    public double weight() {
        return weight;
    }

    public double lossSum() {
        return lossSum;
    }

    public long lossCount() {
        return lossCount;
    }

    public long tokens() {
        return tokens;
    }

    /** Bytes of the sums, what one partition sends back. */
    public long payloadBytes() {
        return sums.values().stream().mapToLong(a -> 8L * a.length).sum();
    }
}
