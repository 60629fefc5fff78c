package org.peft4j.adapters.core;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The adapters injected into one model: the target layers in a stable order and, through their declarations, every
 * adapter tensor by its full name {@code <module path>.<tensor>}. Counting, the optimizer, averaging and
 * checkpoints all go through here.
 */
public final class AdapterSet {
    private final AdapterSpec spec;
    private final List<TargetLinear> targets;
    private final Map<String, AdapterParam> modulesToSave = new LinkedHashMap<>();

    public AdapterSet(AdapterSpec spec, List<TargetLinear> targets) {
        this.spec = spec;
        this.targets = List.copyOf(targets);
        this.targets.forEach(t -> t.setDropout(spec.dropout()));
    }

    public AdapterSpec spec() {
        return spec;
    }

    public List<TargetLinear> targets() {
        return targets;
    }

    /**
     * Adds a whole trainable tensor outside the adapters, e.g. a classification head's {@code score.weight}: PEFT's
     * {@code modules_to_save}. It trains, averages and is checkpointed with the adapter tensors.
     */
    public void addModuleToSave(AdapterParam p) {
        if (modulesToSave.containsKey(p.name())) {
            throw new IllegalArgumentException("module to save " + p.name() + " added twice");
        }
        modulesToSave.put(p.name(), p);
    }

    public Map<String, AdapterParam> modulesToSave() {
        return Map.copyOf(modulesToSave);
    }

    /** Every adapter tensor, frozen or not, by full name, then the modules to save. */
    public Map<String, AdapterParam> params() {
        Map<String, AdapterParam> out = new LinkedHashMap<>();
        for (TargetLinear t : targets) {
            for (AdapterParam p : t.adapter().params()) {
                out.put(t.path() + "." + p.name(), p);
            }
        }
        out.putAll(modulesToSave);
        return out;
    }

    /** The tensors that still have something to train, by full name. */
    public Map<String, AdapterParam> trainable() {
        Map<String, AdapterParam> out = new LinkedHashMap<>();
        params().forEach((k, p) -> {
            if (p.isTrainable()) {
                out.put(k, p);
            }
        });
        return out;
    }

    public long trainableCount() {
        long n = 0;
        for (TargetLinear t : targets) {
            n += t.adapter().trainableCount();
        }
        for (AdapterParam p : modulesToSave.values()) {
            n += p.trainableCount();
        }
        return n;
    }

    /** Rank per module path (LaMDA++ differs per module; the others equal the spec's rank). */
    public Map<String, Integer> ranks() {
        Map<String, Integer> out = new LinkedHashMap<>();
        for (TargetLinear t : targets) {
            out.put(t.path(), t.adapter().rank());
        }
        return out;
    }

    /** Gives every adapter its freeze schedule for a run of {@code totalSteps} steps (LaMDA freezes B by it). */
    public void setTotalSteps(long totalSteps) {
        for (TargetLinear t : targets) {
            t.adapter().scheduleFreezing(totalSteps);
        }
    }

    /** How executors' copies of these adapters combine between rounds (the method's choice). */
    public Aggregation aggregation() {
        return spec.method().aggregation(spec.options());
    }

    /** The seed of the next training forward's dropout masks (deterministic in run seed, partition, step). */
    public void setDropoutSeed(long seed) {
        targets.forEach(t -> t.setDropoutSeed(seed));
    }

    /** Tells every adapter which global step is about to run. */
    public void onStep(long globalStep) {
        for (TargetLinear t : targets) {
            t.adapter().onStep(globalStep);
        }
    }

    public void zeroGrad() {
        for (AdapterParam p : params().values()) {
            p.zeroGrad();
        }
    }

    public long keptBytes() {
        long n = 0;
        for (TargetLinear t : targets) {
            n += t.adapter().keptBytes();
        }
        return n;
    }

    public void merge() {
        targets.forEach(TargetLinear::merge);
    }

    public void unmerge() {
        targets.forEach(TargetLinear::unmerge);
    }

    /** Removes every adapter and restores the base weights. */
    public void detach() {
        targets.forEach(TargetLinear::detach);
    }
}
