package org.peft4j.adapters.optim;

import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.core.AdapterParam;

/** Plain SGD, {@code w -= lr g} on trainable rows: stateless, which makes averaging across executors exact. */
public final class Sgd extends StepLoop {

    @Override
    protected void update(String name, AdapterParam p, double lr) {
        p.trainableRowsOf(p.value()).subi(p.trainableRowsOf(p.grad()).mul(lr));
    }

    @Override
    public Map<String, INDArray> state() {
        return Map.of();
    }

    @Override
    public void loadState(Map<String, INDArray> state, long steps) {
        if (!state.isEmpty()) {
            throw new IllegalArgumentException("SGD has no state, found " + state.keySet());
        }
        setSteps(steps);
    }
}
