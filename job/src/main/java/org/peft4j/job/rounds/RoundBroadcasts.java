package org.peft4j.job.rounds;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.optim.Optimizer;
import org.peft4j.job.state.StateSlice;

/**
 * The driver's side of {@link WorkerUpdate}: for each round, the state executors need (its live rows, and the
 * settled part of rows that froze since the last round), broadcast once and used by the round's training and by the
 * evaluation of the round before it.
 */
final class RoundBroadcasts {
    private final JavaSparkContext sc;
    private final AdapterSet adapters;
    private final Optimizer optimizer;
    private final RoundRows rows;
    private final List<Broadcast<StateSlice>> settled = new ArrayList<>();
    private final List<Integer> settledRounds = new ArrayList<>();

    RoundBroadcasts(JavaSparkContext sc, AdapterSet adapters, Optimizer optimizer) {
        this.sc = sc;
        this.adapters = adapters;
        this.optimizer = optimizer;
        this.rows = new RoundRows(adapters);
    }

    /** One round's broadcast state: what tasks read, what it costs an executor, values that train in it. */
    record Prepared(WorkerUpdate update, long bytes, long trainable) {
        void destroy() {
            update.input().destroy();
        }
    }

    /**
     * The state for round {@code round}, starting at global step {@code step} with learning rates {@code lrs} (empty
     * for an evaluation after the last round): the driver's freezing is brought to that step first.
     */
    Prepared prepare(int round, long step, long totalSteps, double[] lrs) {
        adapters.onStep(step);
        long trainable = adapters.trainableCount();
        RoundRows.Parts parts = rows.next(adapters, optimizer);
        if (!parts.settled().isEmpty()) {
            settled.add(sc.broadcast(parts.settled()));
            settledRounds.add(round);
        }
        Broadcast<RoundInput> in = sc.broadcast(new RoundInput(round, step, totalSteps, parts.live(), lrs));
        int[] rs = settledRounds.stream().mapToInt(Integer::intValue).toArray();
        return new Prepared(new WorkerUpdate(in, settled, rs), parts.bytes(), trainable);
    }

    /** Frees the settled parts at the end of the run. */
    void destroy() {
        settled.forEach(Broadcast::destroy);
    }
}
