package org.peft4j.adapters.lamdapp;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.peft4j.adapters.core.MethodOption;
import org.peft4j.adapters.core.MethodOptions;
import org.peft4j.adapters.core.OptionSet;
import org.peft4j.adapters.lamda.LamdaOptions;

/**
 * LaMDA++ options: LaMDA's, plus the bounds on each module's allocated rank.
 *
 * @param rMin smallest rank a module may get
 * @param rMax largest rank a module may get (and never above min(d_in, d_out))
 */
public record LamdaPlusPlusOptions(LamdaOptions lamda, int rMin, int rMax) implements MethodOptions {
    public static final MethodOption<Integer> R_MIN = MethodOption.integer(
            "r_min", ">= 1", r -> Math.max(1, r / 2), "max(1, r/2)", "smallest rank the allocator gives a module");
    public static final MethodOption<Integer> R_MAX =
            MethodOption.integer("r_max", ">= r_min", r -> 2 * r, "2r", "largest rank the allocator gives a module");
    public static final OptionSet<LamdaPlusPlusOptions> SET =
            new OptionSet<>(LamdaPlusPlusOptions.class, options(), LamdaPlusPlusOptions::parse);

    public LamdaPlusPlusOptions {
        if (rMin < 1 || rMax < rMin) {
            throw new IllegalArgumentException(
                    "r_min/r_max: expected 1 <= r_min <= r_max, found r_min=" + rMin + ", r_max=" + rMax);
        }
    }

    private static List<MethodOption<?>> options() {
        List<MethodOption<?>> all = new ArrayList<>(LamdaOptions.SET.list());
        all.add(R_MIN);
        all.add(R_MAX);
        return List.copyOf(all);
    }

    static LamdaPlusPlusOptions parse(Map<String, String> raw, int rank) {
        return new LamdaPlusPlusOptions(LamdaOptions.parse(raw, rank), R_MIN.read(raw, rank), R_MAX.read(raw, rank));
    }

    @Override
    public Map<String, Object> toJson() {
        return LamdaOptions.withoutDefaultOrder(
                SET.json(lamda.init(), lamda.freeze(), lamda.freezeFraction(), lamda.freezeOrder(), rMin, rMax));
    }
}
