package org.peft4j.job.rounds;

import java.util.List;
import org.peft4j.adapters.core.AdapterParam;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.optim.Optimizer;
import org.peft4j.job.state.StateSlice;

/**
 * Which rows of the adapter tensors the driver sends in a round. Rows frozen for good (a frozen PMB row of LaMDA) are
 * sent once more after they froze, in the round's settled part, with their final averaged value, then never; the
 * rows that still train are sent every round with their moments (the live part). Tensors that never change
 * (LaMDA's A, the SVD residual) are never sent: every worker builds them identically.
 */
final class RoundRows {
    /** Per tensor of {@link AdapterSet#params()}: the rows whose final values have been sent already. */
    private final int[] sent;

    RoundRows(AdapterSet set) {
        List<AdapterParam> params = List.copyOf(set.params().values());
        sent = new int[params.size()];
        for (int i = 0; i < sent.length; i++) {
            sent[i] = params.get(i).alwaysFrozen() ? params.get(i).rows() : 0;
        }
    }

    /** The round's two parts. */
    record Parts(StateSlice settled, StateSlice live) {
        long bytes() {
            return settled.bytes() + live.bytes();
        }
    }

    /**
     * The parts of the round about to start, from the driver's state with its freezing brought to that round's first
     * step ({@link AdapterSet#onStep}); then counts the newly settled rows as sent.
     */
    Parts next(AdapterSet set, Optimizer optimizer) {
        int[] frozen = frozenRows(set);
        int i = 0;
        java.util.Set<String> folded = set.aggregation().folded(set);
        for (String name : set.params().keySet()) {
            if (folded.contains(name)) { // changed on the driver every round: whole, every round
                frozen[i] = 0;
            }
            i++;
        }
        StateSlice settled = StateSlice.of(set, optimizer, sent, frozen, false);
        StateSlice live = StateSlice.of(set, optimizer, frozen, true);
        System.arraycopy(frozen, 0, sent, 0, sent.length);
        return new Parts(settled, live);
    }

    /**
     * The rows an executor sends back: of each tensor in {@code live}, those that trained at the round's first step
     * ({@code set}'s freezing brought to that step); tensors frozen on the executors (changed only by the driver's
     * aggregation) send nothing.
     */
    static int[] returnedFrom(StateSlice live, AdapterSet set) {
        List<AdapterParam> params = List.copyOf(set.params().values());
        int[] from = new int[params.size()];
        for (int i = 0; i < from.length; i++) {
            from[i] = params.get(i).rows();
        }
        for (int e = 0; e < live.param().length; e++) {
            if (live.kind()[e] == 0) {
                AdapterParam p = params.get(live.param()[e]);
                from[live.param()[e]] = Math.max(live.from()[e], p.frozenRows());
            }
        }
        return from;
    }

    private static int[] frozenRows(AdapterSet set) {
        List<AdapterParam> params = List.copyOf(set.params().values());
        int[] f = new int[params.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = params.get(i).frozenRows();
        }
        return f;
    }
}
