package org.peft4j.adapters.core;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Puts adapters on the target layers of a model: picks layers by module name (the last path component), checks
 * ranks against each layer's shape, and lets the spec's method build the adapters.
 */
public final class AdapterInjector {
    private AdapterInjector() {}

    /** Fresh adapters, initialised as the spec says, attached. */
    public static AdapterSet inject(List<TargetLinear> layers, AdapterSpec spec) {
        return attach(spec, spec.method().create(select(layers, spec), spec));
    }

    /**
     * Adapters of the right shapes with every tensor zero, not yet attached: a checkpoint fills them, then
     * {@link #attach} puts them on (LaMDA's svd-residual correction needs the loaded tensors). {@code alphas}
     * overrides the method's alpha per module path (PEFT's alpha_pattern).
     */
    public static Map<TargetLinear, Adapter> blank(
            List<TargetLinear> layers, AdapterSpec spec, Map<String, Integer> ranks, Map<String, Double> alphas) {
        Map<TargetLinear, Adapter> out = new LinkedHashMap<>();
        for (TargetLinear t : select(layers, spec)) {
            Integer r = ranks.get(t.path());
            if (r == null) {
                throw new IllegalArgumentException("rank_pattern has no rank for module " + t.path());
            }
            double alpha = alphas.getOrDefault(t.path(), spec.method().alpha(spec, r));
            out.put(t, spec.method().blank(t, checkRank(t, r), alpha, spec));
        }
        return out;
    }

    public static AdapterSet attach(AdapterSpec spec, Map<TargetLinear, Adapter> adapters) {
        adapters.forEach(TargetLinear::attach);
        return new AdapterSet(spec, new ArrayList<>(adapters.keySet()));
    }

    private static final java.util.regex.Pattern LAYER = java.util.regex.Pattern.compile("\\.layers\\.(\\d+)\\.");

    /** The layers whose module name is a target, in the spec's layers (all when it names none). */
    private static List<TargetLinear> select(List<TargetLinear> layers, AdapterSpec spec) {
        List<TargetLinear> out = new ArrayList<>();
        java.util.Set<Integer> present = new java.util.TreeSet<>();
        for (TargetLinear t : layers) {
            java.util.regex.Matcher m = LAYER.matcher(t.path());
            int layer = m.find() ? Integer.parseInt(m.group(1)) : -1;
            present.add(layer);
            String name = t.path().substring(t.path().lastIndexOf('.') + 1);
            if (spec.targets().contains(name) && (layer < 0 || spec.adaptsLayer(layer))) {
                out.add(t);
            }
        }
        if (spec.layers() != null) {
            for (int l : spec.layers()) {
                if (!present.contains(l)) {
                    int last =
                            present.stream().mapToInt(Integer::intValue).max().orElse(-1);
                    throw new IllegalArgumentException("layers: expected layer indices in 0.." + last + ", found " + l);
                }
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("targets " + spec.targets() + " match no layer of the model");
        }
        return out;
    }

    /** {@code r}, when it fits the layer: at most min(d_in, d_out). */
    public static int checkRank(TargetLinear t, int r) {
        int max = Math.min(t.dIn(), t.dOut());
        if (r > max) {
            throw new IllegalArgumentException("module " + t.path() + ": rank must be <= min(d_in, d_out) = " + max
                    + " (d_in " + t.dIn() + ", d_out " + t.dOut() + "), found " + r);
        }
        return r;
    }
}
