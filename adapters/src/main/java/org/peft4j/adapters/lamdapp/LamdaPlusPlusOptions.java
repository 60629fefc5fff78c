package org.peft4j.adapters.lamdapp;

import org.peft4j.adapters.core.MethodOptions;
import org.peft4j.adapters.lamda.LamdaOptions;

/**
 * LaMDA++ options: LaMDA's, plus the bounds on each module's allocated rank.
 *
 * @param rMin smallest rank a module may get; default max(1, r / 2)
 * @param rMax largest rank a module may get; default 2 r (and never above min(d_in, d_out))
 */
public record LamdaPlusPlusOptions(LamdaOptions lamda, int rMin, int rMax) implements MethodOptions {
    public LamdaPlusPlusOptions {
        if (rMin < 1 || rMax < rMin) {
            throw new IllegalArgumentException(
                    "r_min/r_max: expected 1 <= r_min <= r_max, found r_min=" + rMin + ", r_max=" + rMax);
        }
    }

    public static LamdaPlusPlusOptions defaults(int rank) {
        return new LamdaPlusPlusOptions(LamdaOptions.DEFAULTS, Math.max(1, rank / 2), 2 * rank);
    }
}
