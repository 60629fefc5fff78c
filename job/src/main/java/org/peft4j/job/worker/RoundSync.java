package org.peft4j.job.worker;

/**
 * The last round whose broadcast state a worker applied in full: a worker that applied the previous round needs only
 * the rows that changed since; any other needs every settled part (see {@code rounds.ExecutorStep}). A worker caught
 * half-way through applying counts as having applied nothing.
 */
public final class RoundSync {
    private int appliedRound = Integer.MIN_VALUE;

    public synchronized int appliedRound() {
        return appliedRound;
    }

    public synchronized void applying(int round) {
        appliedRound = Integer.MIN_VALUE;
    }

    public synchronized void applied(int round) {
        appliedRound = round;
    }
}
