package org.peft4j.adapters.lamda;

import org.peft4j.adapters.core.MethodOptions;

/**
 * LaMDA options.
 *
 * @param init how A, S and B start; default {@link LamdaInit#SVD_RESIDUAL}
 * @param freeze PMB freezing schedule; default {@link FreezeMode#PAPER}
 * @param freezeFraction fraction of total steps over which B freezes; default 0.3
 */
public record LamdaOptions(LamdaInit init, FreezeMode freeze, double freezeFraction) implements MethodOptions {
    public static final LamdaOptions DEFAULTS = new LamdaOptions(LamdaInit.SVD_RESIDUAL, FreezeMode.PAPER, 0.3);

    public LamdaOptions {
        if (!(freezeFraction > 0 && freezeFraction <= 1)) {
            throw new IllegalArgumentException("freeze_fraction: expected a number in (0, 1], found " + freezeFraction);
        }
    }
}
