package org.peft4j.job.rounds;

import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.core.AdapterParam;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.io.Safetensors;
import org.peft4j.adapters.optim.Optimizer;

/**
 * The part of a run that changes: every adapter tensor that is not always frozen (so LaMDA's A and SVD residual
 * never travel), the optimizer's moments and its step count. This is all the driver broadcasts and all executors
 * send back: the base model is not in it.
 */
public record AdapterState(Map<String, INDArray> tensors, Map<String, INDArray> moments, long optimizerSteps) {
    static final String TENSOR = "t/";
    static final String MOMENT = "m/";

    public static AdapterState of(AdapterSet set, Optimizer optimizer) {
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

    /**
     * Loads a saved adapter directory's tensors (adapter_model.safetensors, names as in {@code AdapterSet.params()})
     * into a worker built from the same configuration; frozen tensors are checked to match, not overwritten.
     */
    public static void fromAdapterDirectory(String dir, Worker w) throws java.io.IOException {
        String file = org.peft4j.job.fs.Locations.child(dir, org.peft4j.adapters.io.AdapterCheckpoint.TENSORS);
        Map<String, INDArray> saved = Safetensors.read(org.peft4j.job.fs.Locations.read(file), file);
        Map<String, AdapterParam> params = w.adapters().params();
        for (var e : params.entrySet()) {
            INDArray v = saved.get(e.getKey());
            if (v == null
                    || !java.util.Arrays.equals(v.shape(), e.getValue().value().shape())) {
                throw new IllegalArgumentException(file + ": tensor " + e.getKey()
                        + (v == null ? " is missing" : " has shape " + java.util.Arrays.toString(v.shape()))
                        + "; was it saved by this"
                        + " configuration?");
            }
            if (!e.getValue().alwaysFrozen()) {
                e.getValue().value().assign(v.castTo(e.getValue().value().dataType()));
            }
        }
    }

    public byte[] toBytes() {
        Map<String, INDArray> all = new LinkedHashMap<>();
        tensors.forEach((k, v) -> all.put(TENSOR + k, v));
        moments.forEach((k, v) -> all.put(MOMENT + k, v));
        return Safetensors.write(all, Map.of("optimizer_steps", Long.toString(optimizerSteps)));
    }

    public static AdapterState fromBytes(byte[] bytes, String source) {
        var header = Safetensors.parseHeader(java.nio.ByteBuffer.wrap(bytes), bytes.length, source);
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
