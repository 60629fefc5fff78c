package org.peft4j.job.rounds;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.broadcast.Broadcast;
import org.peft4j.job.state.StateSlice;
import org.peft4j.job.worker.Worker;

/**
 * Brings an executor's worker to the driver's state for a round (to train it, or to evaluate what the round before it
 * produced). Rows of adapter tensors that froze for good travel once, in the settled part of the round after they
 * froze; everything else that can change travels every round in {@link RoundInput#live()}. A worker that applied the
 * previous round's or this round's state takes this round's settled part and the live rows; any other worker (new,
 * or one that sat out a round) takes every settled part since the run (re)started, then the live rows. Spark fetches
 * a broadcast only when a task reads it, so each settled part costs its bytes once per worker.
 *
 * @param settled the settled parts so far, oldest first, and {@code settledRounds} the round each was sent for
 */
record WorkerUpdate(Broadcast<RoundInput> input, List<Broadcast<StateSlice>> settled, int[] settledRounds)
        implements Serializable {

    WorkerUpdate {
        settled = List.copyOf(settled);
        settledRounds = settledRounds.clone();
    }

    /** Applies what {@code w} lacks of the round's state and returns the round's input. */
    RoundInput apply(Worker w) {
        RoundInput in = input.value();
        int last = w.sync().appliedRound();
        boolean synced = last == in.round() - 1 || last == in.round();
        List<StateSlice> parts = new ArrayList<>();
        for (int i = 0; i < settled.size(); i++) {
            if (!synced || settledRounds[i] == in.round()) {
                parts.add(settled.get(i).value());
            }
        }
        apply(w, in, parts);
        return in;
    }

    /** Applies {@code settled} in order, then the round's live rows, and records the round as applied. */
    static void apply(Worker w, RoundInput in, List<StateSlice> settled) {
        w.sync().applying(in.round());
        settled.forEach(s -> s.applyTo(w.adapters(), w.optimizer()));
        in.live().applyTo(w.adapters(), w.optimizer());
        w.sync().applied(in.round());
    }
}
