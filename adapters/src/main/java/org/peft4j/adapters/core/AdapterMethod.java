package org.peft4j.adapters.core;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An adapter method (LoRA, LaMDA, ...): everything the rest of peft4j knows about it, the way PEFT registers a tuner.
 * A method is one package holding its implementation of this interface, its options record and its adapter, plus one
 * line in {@code registry.AdapterMethods}. Nothing outside the package switches on a method's name.
 *
 * <p>Implementations are stateless records without components, so that every instance is equal and they travel
 * inside Spark broadcasts as part of the run's spec.
 * Freezing follows the adapter itself ({@link Adapter#scheduleFreezing}, {@link Adapter#onStep}).
 */
public interface AdapterMethod extends java.io.Serializable {

    /** As written in configs and checkpoints: {@code lora}, {@code lamda}, {@code lamda++}, {@code neat}. */
    String name();

    /** The options: their record, and each option's key, default and one-line doc. */
    OptionSet<?> options();

    /**
     * Fresh adapters for {@code targets} as the spec says, not yet attached. The default gives every target the spec's
     * rank and calls {@link #create(TargetLinear, int, AdapterSpec)}; a method that allocates ranks (LaMDA++) overrides
     * it.
     */
    default Map<TargetLinear, Adapter> create(List<TargetLinear> targets, AdapterSpec spec) {
        Map<TargetLinear, Adapter> out = new LinkedHashMap<>();
        for (TargetLinear t : targets) {
            out.put(t, create(t, AdapterInjector.checkRank(t, spec.rank()), spec));
        }
        return out;
    }

    /** A freshly initialised adapter for one target (random draws from {@code Init.forModule(seed, path)}). */
    Adapter create(TargetLinear target, int rank, AdapterSpec spec);

    /** An adapter of the right shapes with every tensor zero, for a checkpoint to fill; {@code alpha} its scaling's. */
    Adapter blank(TargetLinear target, int rank, double alpha, AdapterSpec spec);

    /** The alpha of a module of rank {@code rank}: the spec's (LaMDA++ keeps s = alpha / r of the base rank). */
    default double alpha(AdapterSpec spec, int rank) {
        return spec.alpha();
    }

    /**
     * The adapters as they are saved in PEFT's own LoRA format, when that is this method's native checkpoint format
     * (LoRA), else empty (peft4j's format; {@code export} still writes any method as an exact LoRA).
     */
    default java.util.Optional<LoraForm> nativeLora(AdapterSet set) {
        return java.util.Optional.empty();
    }

    /**
     * Trainable values of one d_in x d_out target at rank r, before and after freezing: what {@code params} plans
     * from a config alone. A method that needs the weights to know (LaMDA++) throws, saying so.
     */
    TargetParams paramsPerTarget(int dIn, int dOut, int rank, MethodOptions options);

    /** How executors' adapters combine between rounds; plain averaging unless the method says otherwise. */
    default Aggregation aggregation(MethodOptions options) {
        return Aggregation.AVERAGE;
    }

    /**
     * Per-target trainable counts, and how many tensors still train once freezing is done (each travels with its
     * optimizer moments every round).
     */
    record TargetParams(long trainable, long trainableAfterFreeze, int tensorsAfterFreeze) {}
}
