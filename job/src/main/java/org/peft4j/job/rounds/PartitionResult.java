package org.peft4j.job.rounds;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.job.state.StateSlice;

/**
 * One partition's round, as it travels back to the driver: the rows of its adapter tensors and moments that could
 * change this round (a {@link StateSlice}, in float32), the method's aggregation extras (float32), the weight its
 * values carry in the average (sequences trained on), its {@link Stats} and how long its task took. {@link PairwiseTreeSum} averages them
 * in double on the driver.
 */
public record PartitionResult(
        double weight,
        Stats stats,
        double taskSeconds,
        StateSlice state,
        LinkedHashMap<String, float[]> extras,
        LinkedHashMap<String, long[]> extraShapes)
        implements Serializable {

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

    /** @param extras the method's aggregation extras (e.g. LoRA's s A B per target), averaged like the tensors */
    public static PartitionResult of(StateSlice state, Map<String, INDArray> extras, double weight, Stats stats) {
        LinkedHashMap<String, float[]> values = new LinkedHashMap<>();
        LinkedHashMap<String, long[]> shapes = new LinkedHashMap<>();
        new TreeMap<>(extras).forEach((k, v) -> {
            values.put(k, v.castTo(DataType.FLOAT).dup('c').data().asFloat());
            shapes.put(k, v.shape());
        });
        return new PartitionResult(weight, stats, 0, state, values, shapes);
    }

    /** The same result, recording how long its task took (state update and training) */
    public PartitionResult timed(double seconds) {
        return new PartitionResult(weight, stats, seconds, state, extras, extraShapes);
    }

    /** Bytes this partition sends back: its floats and the slice's entry index. */
    public long payloadBytes() {
        return state.bytes()
                + 4L * extras.values().stream().mapToLong(a -> a.length).sum();
    }
}
