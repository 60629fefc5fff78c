package org.peft4j.adapters.optim;

import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.core.AdapterParam;

/** Plain SGD, {@code w -= lr g} on trainable rows: stateless, which makes averaging across executors exact. */
public final class Sgd implements Optimizer {
    private long steps;

    @Override
    public void step(Map<String, AdapterParam> params, double lr) {
        steps++;
        for (AdapterParam p : params.values()) {
            if (p.isTrainable()) {
                p.trainableRowsOf(p.value()).subi(p.trainableRowsOf(p.grad()).mul(lr));
                p.zeroGrad();
            }
        }
    }

    @Override
    public long steps() {
        return steps;
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
        this.steps = steps;
    }
}
