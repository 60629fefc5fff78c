package org.peft4j.adapters.core;

import java.util.List;

/**
 * What to inject: method, rank, scaling, target modules and the method's options. Built once, validated, immutable.
 * Parsed from text by {@code registry.AdapterMethods.spec}.
 *
 * @param method the adapter method
 * @param rank r (for lamda++: the average rank; the total budget is r times the number of targets)
 * @param alpha scaling numerator; s = alpha / r (rsLoRA: alpha / sqrt(r)); default r, i.e. s = 1
 * @param targets module names (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)
 * @param seed seeds every random initialiser
 * @param options the method's options record ({@link OptionSet#type()})
 * @param dropout dropout on the adapter path's input while training (PEFT's lora_dropout), for every method; 0 off
 * @param layers the decoder layers that get adapters (PEFT's layers_to_transform), null for all
 */
public record AdapterSpec(
        AdapterMethod method,
        int rank,
        double alpha,
        List<String> targets,
        long seed,
        MethodOptions options,
        double dropout,
        List<Integer> layers)
        implements java.io.Serializable {

    public static final List<String> MODULES =
            List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");
    /** The papers' default targets. */
    public static final List<String> DEFAULT_TARGETS = List.of("q_proj", "k_proj", "v_proj", "up_proj", "down_proj");

    public AdapterSpec {
        if (rank < 1) {
            throw new IllegalArgumentException("rank: expected >= 1, found " + rank);
        }
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("targets: expected at least one of " + MODULES + ", found none");
        }
        for (String t : targets) {
            if (!MODULES.contains(t)) {
                throw new IllegalArgumentException("targets: unknown module '" + t + "' (did you mean '"
                        + Suggest.nearest(t, MODULES) + "'?); expected some of " + MODULES);
            }
        }
        targets = List.copyOf(targets);
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("dropout: expected a number in [0, 1), found " + dropout);
        }
        if (layers != null) {
            if (layers.isEmpty() || layers.stream().anyMatch(l -> l < 0)) {
                throw new IllegalArgumentException("layers: expected layer indices >= 0, found " + layers);
            }
            layers = List.copyOf(new java.util.TreeSet<>(layers));
        }
        Class<?> expected = method.options().type();
        if (!expected.isInstance(options)) {
            throw new IllegalArgumentException("options of method " + method.name() + ": expected "
                    + expected.getSimpleName() + ", found "
                    + (options == null ? "none" : options.getClass().getSimpleName()));
        }
    }

    /** The same spec with dropout and layers set. */
    public AdapterSpec withDropoutAndLayers(double dropout, List<Integer> layers) {
        return new AdapterSpec(method, rank, alpha, targets, seed, options, dropout, layers);
    }

    /** Whether layer {@code index} gets adapters. */
    public boolean adaptsLayer(int index) {
        return layers == null || layers.contains(index);
    }
}
