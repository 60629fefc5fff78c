package org.peft4j.adapters.optim;

import java.util.Map;
import org.peft4j.adapters.core.AdapterParam;

/**
 * The loop every optimizer step shares: count the step, update each tensor that still trains (only its trainable
 * rows), clear its gradient. Frozen tensors and frozen rows get no update, no state and no weight decay.
 */
abstract class StepLoop implements Optimizer {
    private long steps;

    @Override
    public final void step(Map<String, AdapterParam> params, double lr) {
        steps++;
        beginStep(params);
        for (Map.Entry<String, AdapterParam> e : params.entrySet()) {
            AdapterParam p = e.getValue();
            if (p.isTrainable()) {
                update(e.getKey(), p, lr);
                p.zeroGrad();
            }
        }
    }

    /** Before the tensors of a step are updated (after {@link #steps()} counts it). */
    protected void beginStep(Map<String, AdapterParam> params) {}

    /** Updates the trainable rows of {@code p} from its gradient. */
    protected abstract void update(String name, AdapterParam p, double lr);

    @Override
    public final long steps() {
        return steps;
    }

    /** Restores the step count from saved state. */
    protected final void setSteps(long steps) {
        this.steps = steps;
    }
}
