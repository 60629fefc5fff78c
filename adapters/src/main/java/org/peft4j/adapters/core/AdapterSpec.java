package org.peft4j.adapters.core;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.peft4j.adapters.lamda.FreezeMode;
import org.peft4j.adapters.lamda.LamdaInit;
import org.peft4j.adapters.lamda.LamdaOptions;
import org.peft4j.adapters.lamdapp.LamdaPlusPlusOptions;
import org.peft4j.adapters.lora.LoraOptions;
import org.peft4j.adapters.neat.NeatActivation;
import org.peft4j.adapters.neat.NeatOptions;

/**
 * What to inject: method, rank, scaling, target modules and the method's options. Built once, validated, immutable.
 *
 * @param method lora, lamda, lamda++ or neat
 * @param rank r (for lamda++: the average rank; the total budget is r times the number of targets)
 * @param alpha scaling numerator; s = alpha / r (rsLoRA: alpha / sqrt(r)); default r, i.e. s = 1
 * @param targets module names (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)
 * @param seed seeds every random initialiser
 * @param options the method's record: {@link LoraOptions}, {@link LamdaOptions}, {@link LamdaPlusPlusOptions} or
 *     {@link NeatOptions}
 */
public record AdapterSpec(String method, int rank, double alpha, List<String> targets, long seed, MethodOptions options)
        implements java.io.Serializable {

    public static final List<String> METHODS = List.of("lora", "lamda", "lamda++", "neat");
    public static final List<String> MODULES =
            List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");
    /** The papers' default targets. */
    public static final List<String> DEFAULT_TARGETS = List.of("q_proj", "k_proj", "v_proj", "up_proj", "down_proj");

    private static final Map<String, Set<String>> OPTION_KEYS = Map.of(
            "lora", Set.of("rslora", "aggregation"),
            "lamda", Set.of("init", "freeze", "freeze_fraction"),
            "lamda++", Set.of("init", "freeze", "freeze_fraction", "r_min", "r_max"),
            "neat", Set.of("activation", "depth", "orientation"));

    public AdapterSpec {
        if (!METHODS.contains(method)) {
            throw new IllegalArgumentException("method: expected one of " + METHODS + ", found '" + method + "'");
        }
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
        Class<?> expected = switch (method) {
            case "lora" -> LoraOptions.class;
            case "lamda" -> LamdaOptions.class;
            case "lamda++" -> LamdaPlusPlusOptions.class;
            default -> NeatOptions.class;
        };
        if (!expected.isInstance(options)) {
            throw new IllegalArgumentException(
                    "options of method " + method + ": expected " + expected.getSimpleName() + ", found "
                            + (options == null ? "none" : options.getClass().getSimpleName()));
        }
    }

    /** The option keys {@code method} accepts. */
    public static Set<String> optionKeys(String method) {
        return OPTION_KEYS.getOrDefault(method, Set.of());
    }

    /**
     * Builds a spec from string options as they come from a command line or config file; an unknown key or a bad
     * value fails with the key, the expected and the found value.
     *
     * @param alpha null for the default (alpha = rank)
     */
    public static AdapterSpec parse(
            String method, int rank, Double alpha, List<String> targets, long seed, Map<String, String> options) {
        if (!METHODS.contains(method)) {
            throw new IllegalArgumentException("method: expected one of " + METHODS + ", found '" + method + "'");
        }
        Set<String> valid = optionKeys(method);
        for (String k : options.keySet()) {
            if (!valid.contains(k)) {
                throw new IllegalArgumentException("unknown " + method + " option '" + k + "'"
                        + (valid.isEmpty() ? "" : " (did you mean '" + Suggest.nearest(k, valid) + "'?)")
                        + "; valid options: " + valid);
            }
        }
        Map<String, String> o = new LinkedHashMap<>(options);
        MethodOptions parsed = switch (method) {
            case "lora" -> new LoraOptions(bool(o, "rslora", false), aggregation(o));
            case "lamda" -> lamda(o);
            case "lamda++" ->
                new LamdaPlusPlusOptions(
                        lamda(o), integer(o, "r_min", Math.max(1, rank / 2)), integer(o, "r_max", 2 * rank));
            case "neat" ->
                new NeatOptions(
                        NeatActivation.parse(o.getOrDefault("activation", "relu")),
                        integer(o, "depth", 2),
                        NeatOptions.Orientation.parse(o.getOrDefault("orientation", "rows")));
            default -> throw new IllegalStateException(method);
        };
        return new AdapterSpec(method, rank, alpha == null ? rank : alpha, targets, seed, parsed);
    }

    private static LamdaOptions lamda(Map<String, String> o) {
        return new LamdaOptions(
                LamdaInit.parse(o.getOrDefault("init", "svd-residual")),
                FreezeMode.parse(o.getOrDefault("freeze", "paper")),
                number(o, "freeze_fraction", 0.3));
    }

    private static boolean aggregation(Map<String, String> o) {
        String v = o.getOrDefault("aggregation", "factors");
        return switch (v) {
            case "factors" -> false;
            case "product" -> true;
            default ->
                throw new IllegalArgumentException("aggregation: expected factors or product, found '" + v + "'");
        };
    }

    private static boolean bool(Map<String, String> o, String key, boolean dflt) {
        String v = o.get(key);
        if (v == null) {
            return dflt;
        }
        if (!v.equals("true") && !v.equals("false")) {
            throw new IllegalArgumentException(key + ": expected true or false, found '" + v + "'");
        }
        return Boolean.parseBoolean(v);
    }

    private static int integer(Map<String, String> o, String key, int dflt) {
        String v = o.get(key);
        try {
            return v == null ? dflt : Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + ": expected an integer, found '" + v + "'");
        }
    }

    private static double number(Map<String, String> o, String key, double dflt) {
        String v = o.get(key);
        try {
            return v == null ? dflt : Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + ": expected a number, found '" + v + "'");
        }
    }

    /** The options as written to {@code adapter_config.json}: every option, defaults included. */
    public Map<String, Object> optionsAsMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        if (options instanceof LoraOptions l) {
            m.put("rslora", l.rsLora());
            m.put("aggregation", l.aggregation());
        } else if (options instanceof LamdaOptions l) {
            putLamda(m, l);
        } else if (options instanceof LamdaPlusPlusOptions l) {
            putLamda(m, l.lamda());
            m.put("r_min", l.rMin());
            m.put("r_max", l.rMax());
        } else if (options instanceof NeatOptions n) {
            m.put("activation", n.activation().key());
            m.put("depth", n.depth());
            m.put("orientation", n.orientation().key());
        }
        return m;
    }

    private static void putLamda(Map<String, Object> m, LamdaOptions l) {
        m.put("init", l.init().key());
        m.put("freeze", l.freeze().key());
        m.put("freeze_fraction", l.freezeFraction());
    }

    /** The LaMDA options of lamda or lamda++, else null. */
    public LamdaOptions lamdaOptions() {
        if (options instanceof LamdaOptions l) {
            return l;
        }
        return options instanceof LamdaPlusPlusOptions l ? l.lamda() : null;
    }
}
