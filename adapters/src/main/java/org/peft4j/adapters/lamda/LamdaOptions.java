package org.peft4j.adapters.lamda;

import java.util.List;
import java.util.Map;
import org.peft4j.adapters.core.MethodOption;
import org.peft4j.adapters.core.MethodOptions;
import org.peft4j.adapters.core.OptionSet;

/**
 * LaMDA options; keys, defaults and docs are the constants below.
 *
 * @param init how A, S and B start
 * @param freeze PMB freezing schedule
 * @param freezeFraction fraction of total steps over which B freezes
 * @param freezeOrder which of B's rows (singular directions) freeze first
 */
public record LamdaOptions(LamdaInit init, FreezeMode freeze, double freezeFraction, FreezeOrder freezeOrder)
        implements MethodOptions {
    public static final MethodOption<LamdaInit> INIT = MethodOption.choice(
            "init",
            LamdaInit.class,
            LamdaInit.SVD_RESIDUAL,
            "A, B from W0's SVD with S = Sigma_r / s and W0 - U_r Sigma_r V_r^T as base (svd-residual), or S = 0"
                    + " (svd-zero); random: the official code's Kaiming A, zero B");
    public static final MethodOption<FreezeMode> FREEZE = MethodOption.choice(
            "freeze",
            FreezeMode.class,
            FreezeMode.PAPER,
            "paper: B's rows freeze one by one until step ceil(freeze_fraction T); code: the official code's schedule,"
                    + " under which B never wholly freezes for r >= 4");
    public static final MethodOption<Double> FREEZE_FRACTION =
            MethodOption.number("freeze_fraction", "(0, 1]", 0.3, "fraction of the run's steps over which B freezes");
    public static final MethodOption<FreezeOrder> FREEZE_ORDER = MethodOption.choice(
            "freeze_order",
            FreezeOrder.class,
            FreezeOrder.LARGEST_FIRST,
            "which of B's rows freeze first, by W0's singular values: largest-first (paper) or smallest-first (the"
                    + " leading directions train longest); needs an SVD init");
    public static final OptionSet<LamdaOptions> SET = new OptionSet<>(
            LamdaOptions.class, List.of(INIT, FREEZE, FREEZE_FRACTION, FREEZE_ORDER), LamdaOptions::parse);

    public LamdaOptions {
        if (!(freezeFraction > 0 && freezeFraction <= 1)) {
            throw new IllegalArgumentException("freeze_fraction: expected a number in (0, 1], found " + freezeFraction);
        }
        if (freezeOrder == FreezeOrder.SMALLEST_FIRST && init == LamdaInit.RANDOM) {
            throw new IllegalArgumentException("freeze_order: smallest-first orders B's rows by W0's singular values,"
                    + " which init = random does not use; use init = svd-residual or svd-zero");
        }
    }

    public static LamdaOptions parse(Map<String, String> raw, int rank) {
        return new LamdaOptions(
                INIT.read(raw, rank),
                FREEZE.read(raw, rank),
                FREEZE_FRACTION.read(raw, rank),
                FREEZE_ORDER.read(raw, rank));
    }

    @Override
    public Map<String, Object> toJson() {
        return withoutDefaultOrder(SET.json(init, freeze, freezeFraction, freezeOrder));
    }

    /**
     * freeze_order came later: written only when not largest-first, so that checkpoints and resume fingerprints from
     * before it still compare equal.
     */
    public static Map<String, Object> withoutDefaultOrder(Map<String, Object> json) {
        if (FreezeOrder.LARGEST_FIRST.key().equals(json.get(FREEZE_ORDER.key()))) {
            json.remove(FREEZE_ORDER.key());
        }
        return json;
    }
}
