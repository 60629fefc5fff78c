package org.peft4j.job.worker;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Executor-side workers of the current run, kept across rounds so that the base model is loaded once per task slot
 * and never travels again. A task borrows one (building it on first use) and gives it back; workers of an earlier
 * run (another nonce) are dropped, because their freeze schedules and optimizer state belong to that run.
 */
public final class WorkerCache {
    private static final Deque<Worker> IDLE = new ArrayDeque<>();
    private static String nonce;
    private static int built;

    private WorkerCache() {}

    public static Worker borrow(RunSpec spec) throws IOException {
        synchronized (WorkerCache.class) {
            if (!spec.nonce().equals(nonce)) {
                IDLE.clear();
                nonce = spec.nonce();
            }
            Worker w = IDLE.poll();
            if (w != null) {
                return w;
            }
            built++;
        }
        // One build at a time per JVM, so two task slots never hold a model's load transients at once. (The
        // different adapters once seen from concurrent builds were not a race between builds: a collection during
        // ND4J's LAPACK wrapper freed its workspace, see Lapack in adapters; builds beside training hit it too.)
        synchronized (BUILD_LOCK) {
            return Worker.build(spec);
        }
    }

    private static final Object BUILD_LOCK = new Object();

    public static synchronized void release(Worker w) {
        if (w.spec().nonce().equals(nonce)) {
            IDLE.push(w);
        }
    }

    /** The idle workers of the current run (tests inspect their base weights). */
    public static synchronized java.util.List<Worker> idle() {
        return java.util.List.copyOf(IDLE);
    }

    /** Workers built in this JVM since it started: what "loaded once per executor" is tested against. */
    public static synchronized int built() {
        return built;
    }
}
