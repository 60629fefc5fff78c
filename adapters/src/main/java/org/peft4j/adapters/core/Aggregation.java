package org.peft4j.adapters.core;

import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * How executors' adapters combine between rounds, beyond the example-weighted average of every tensor that can change
 * (which the job always does). A method that needs more (LoRA's {@code aggregation = product}) has executors send
 * extra tensors, averaged the same way, and folds their averages into the averaged adapters on the driver.
 */
public interface Aggregation {

    /** Plain averaging: nothing extra. */
    Aggregation AVERAGE = new Aggregation() {
        @Override
        public Map<String, INDArray> extras(AdapterSet set) {
            return Map.of();
        }

        @Override
        public void fold(AdapterSet set, Map<String, INDArray> averagedExtras) {}
    };

    /** What one executor sends besides its adapter state, by name (new arrays, not views). */
    Map<String, INDArray> extras(AdapterSet set);

    /** On the driver, after {@code set} holds the averaged state: folds in the averaged extras. */
    void fold(AdapterSet set, Map<String, INDArray> averagedExtras);

    /**
     * Full names of the frozen tensors {@link #fold} changes: they travel to the executors whole every round, while
     * other frozen tensors travel once.
     */
    default java.util.Set<String> folded(AdapterSet set) {
        return java.util.Set.of();
    }
}
