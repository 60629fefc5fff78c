package org.peft4j.adapters.optim;

import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.core.AdapterParam;

/**
 * Updates adapter tensors from their gradients. It sees only what {@link AdapterParam} declares trainable: frozen
 * tensors and frozen rows get no update, no state and no weight decay. Each step also clears the gradients.
 */
public interface Optimizer {

    /** One update of every trainable tensor, keyed by full tensor name, at learning rate {@code lr}. */
    void step(Map<String, AdapterParam> params, double lr);

    /** Steps taken so far. */
    long steps();

    /** Optimizer state as named tensors (e.g. {@code <tensor>.adam_m}), for averaging and checkpoints. */
    Map<String, INDArray> state();

    /** Replaces the state, as produced by {@link #state()}, and the step count. */
    void loadState(Map<String, INDArray> state, long steps);
}
