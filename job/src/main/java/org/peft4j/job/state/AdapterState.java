package org.peft4j.job.state;

import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.core.AdapterParam;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.io.Safetensors;
import org.peft4j.adapters.optim.Optimizer;

/**
 * The part of a run that changes: every adapter tensor that is not always frozen (so LaMDA's A and SVD residual never
 * travel), the optimizer's moments and its step count. This is all the driver broadcasts and all executors send back:
 * the base model is not in it.
 */
public record AdapterState(Map<String, INDArray> tensors, Map<String, INDArray> moments, long optimizerSteps) {
    static final String TENSOR = "t/";
    static final String MOMENT = "m/";

    /**
     * The adapters' and optimizer's current state as live views, not copies: the maps hold the very arrays that
     * training updates. Serialise ({@link #toBytes}) or compare before the adapters train again.
     */
    public static AdapterState viewOf(AdapterSet set, Optimizer optimizer) {
        Map<String, INDArray> t = new LinkedHashMap<>();
        set.params().forEach((name, p) -> {
            if (!p.alwaysFrozen()) {
                t.put(name, p.value());
            }
        });
        return new AdapterState(t, optimizer.state(), optimizer.steps());
    }

    /** Writes values into the adapters and the optimizer (copies: the state stays independent). */
    public void applyTo(AdapterSet set, Optimizer optimizer) {
        Map<String, AdapterParam> params = set.params();
        tensors.forEach((name, v) -> {
            AdapterParam p = params.get(name);
            if (p == null) {
                throw new IllegalStateException("adapter state has tensor " + name + ", which this model lacks");
            }
            p.value().assign(v.castTo(p.value().dataType()));
        });
        Map<String, INDArray> m = new LinkedHashMap<>();
        moments.forEach((k, v) -> m.put(k, v.dup()));
        optimizer.loadState(m, optimizerSteps);
    }

    public byte[] toBytes() {
        Map<String, INDArray> all = new LinkedHashMap<>();
        tensors.forEach((k, v) -> all.put(TENSOR + k, v));
        moments.forEach((k, v) -> all.put(MOMENT + k, v));
        return Safetensors.write(all, Map.of("optimizer_steps", Long.toString(optimizerSteps)));
    }

    public static AdapterState fromBytes(byte[] bytes, String source) {
        var header = Safetensors.parseHeader(ByteBuffer.wrap(bytes), bytes.length, source);
        Map<String, INDArray> all = Safetensors.read(bytes, source);
        Map<String, INDArray> t = new LinkedHashMap<>();
        Map<String, INDArray> m = new LinkedHashMap<>();
        all.forEach((k, v) -> {
            if (k.startsWith(TENSOR)) {
                t.put(k.substring(TENSOR.length()), v);
            } else if (k.startsWith(MOMENT)) {
                m.put(k.substring(MOMENT.length()), v);
            } else {
                throw new IllegalArgumentException(source + ": unexpected tensor " + k + " in adapter state");
            }
        });
        String steps = header.metadata().get("optimizer_steps");
        if (steps == null) {
            throw new IllegalArgumentException(source + ": adapter state has no optimizer_steps");
        }
        return new AdapterState(t, m, Long.parseLong(steps));
    }
}
