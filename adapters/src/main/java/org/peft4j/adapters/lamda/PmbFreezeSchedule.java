package org.peft4j.adapters.lamda;

/**
 * When each row of LaMDA's B (PMB) stops training. Rows freeze in singular-value order, row 0 first, so the frozen
 * rows are always a leading block and the count alone describes the state. The global step decides, so every
 * executor freezes the same rows at the same step.
 */
public record PmbFreezeSchedule(FreezeMode mode, int rank, long totalSteps, double fraction) {

    public PmbFreezeSchedule {
        if (totalSteps < 1) {
            throw new IllegalArgumentException("total steps: expected >= 1, found " + totalSteps);
        }
    }

    /** t_f = ceil(fraction * total steps): the step from which B is wholly frozen (paper schedule). */
    public long freezeSteps() {
        return (long) Math.ceil(fraction * totalSteps);
    }

    /** Step at which row j freezes (paper schedule): floor((j + 1) t_f / r). */
    public long rowFreezeStep(int j) {
        return (j + 1) * freezeSteps() / rank;
    }

    /** How many leading rows of B are frozen while step {@code step} (0-based) runs. */
    public int frozenRows(long step) {
        return switch (mode) {
            case PAPER -> {
                int n = 0;
                while (n < rank && rowFreezeStep(n) <= step) {
                    n++;
                }
                yield n;
            }
            case CODE -> (int) Math.min(rank, Math.floor((double) step / totalSteps / fraction));
        };
    }
}
