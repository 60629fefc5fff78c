package org.peft4j.adapters.registry;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.peft4j.adapters.core.AdapterMethod;
import org.peft4j.adapters.core.AdapterSpec;
import org.peft4j.adapters.core.MethodOption;
import org.peft4j.adapters.core.Suggest;
import org.peft4j.adapters.lamda.LamdaMethod;
import org.peft4j.adapters.lamdapp.LamdaPlusPlusMethod;
import org.peft4j.adapters.lora.LoraMethod;
import org.peft4j.adapters.neat.NeatMethod;

/**
 * The adapter methods peft4j knows, by name: the one place a method is registered (like PEFT's
 * {@code register_peft_method}). Adding a method is a new package implementing {@link AdapterMethod} plus one entry
 * in {@link #ALL}.
 */
public final class AdapterMethods {
    /** Every method, in documentation order. */
    public static final List<AdapterMethod> ALL =
            List.of(LoraMethod.INSTANCE, LamdaMethod.INSTANCE, LamdaPlusPlusMethod.INSTANCE, NeatMethod.INSTANCE);

    private AdapterMethods() {}

    public static List<String> names() {
        return ALL.stream().map(AdapterMethod::name).toList();
    }

    /** The method called {@code name}, or an error listing the known ones. */
    public static AdapterMethod named(String name) {
        for (AdapterMethod m : ALL) {
            if (m.name().equals(name)) {
                return m;
            }
        }
        throw new IllegalArgumentException("method: expected one of " + names() + ", found '" + name + "'");
    }

    /**
     * Builds a spec from text options as they come from a command line or config file; an unknown key or a bad value
     * fails with the key, the expected and the found value.
     *
     * @param alpha null for the default (alpha = rank)
     */
    public static AdapterSpec spec(
            String method, int rank, Double alpha, List<String> targets, long seed, Map<String, String> options) {
        AdapterMethod m = named(method);
        List<String> valid = m.options().keys();
        for (String k : options.keySet()) {
            if (!valid.contains(k)) {
                throw new IllegalArgumentException("unknown " + method + " option '" + k + "'"
                        + (valid.isEmpty() ? "" : " (did you mean '" + Suggest.nearest(k, valid) + "'?)")
                        + "; valid options: " + valid);
            }
        }
        return new AdapterSpec(
                m,
                rank,
                alpha == null ? rank : alpha,
                targets,
                seed,
                m.options().parse(options, rank),
                0.0,
                null);
    }

    /**
     * Every method's options as a Markdown table (method, option, default, values, meaning): what the README shows,
     * checked against this by a test.
     */
    public static String optionsTable() {
        List<String> lines = new ArrayList<>();
        lines.add("| method | option | default | values | meaning |");
        lines.add("|---|---|---|---|---|");
        for (AdapterMethod m : ALL) {
            for (MethodOption<?> o : m.options().list()) {
                lines.add("| `" + m.name() + "` | `" + o.key() + "` | `" + o.defaultText() + "` | " + o.values() + " | "
                        + o.doc() + " |");
            }
        }
        return String.join("\n", lines) + "\n";
    }
}
