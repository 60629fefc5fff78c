package org.peft4j.adapters.linalg;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Splits a row loop written in Java (rotary, RMSNorm) into contiguous row ranges, one per compute thread: the caller
 * runs the first range and a small pool the others. oneDNN's products and element-wise primitives already use every
 * thread; a Java loop left on the caller kept the other cores idle for 7% of a bf16 step.
 *
 * <p>Threads: {@code OMP_NUM_THREADS} where set (Spark sets it to an executor's cores, and oneDNN reads the same),
 * else the cores this JVM may run on. The common fork-join pool is not used: it has one thread fewer than the cores.
 */
public final class RowRanges {
    /** The loop over rows {@code [from, to)}; ranges never overlap, so a body may write its own rows freely. */
    @FunctionalInterface
    public interface Body {
        void rows(int from, int to);
    }

    /** Below this many elements in all a loop stays on the caller: waking a worker costs tens of microseconds. */
    static final long MIN_ELEMENTS = 1 << 16;

    private static final int THREADS = fromEnvironment();
    private static final ForkJoinPool POOL = THREADS > 1
            ? new ForkJoinPool(
                    THREADS - 1,
                    pool -> {
                        var t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
                        t.setName("peft4j-rows-" + t.getPoolIndex());
                        t.setDaemon(true);
                        return t;
                    },
                    null,
                    false)
            : null;

    private RowRanges() {}

    /** The threads a loop is split over. */
    public static int threads() {
        return THREADS;
    }

    private static int fromEnvironment() {
        String omp = System.getenv("OMP_NUM_THREADS");
        if (omp != null) {
            try {
                int n = Integer.parseInt(omp.strip());
                if (n > 0) {
                    return n;
                }
            } catch (NumberFormatException ignored) {
                // as OpenMP does with a value it cannot read: fall back to the cores
            }
        }
        return Runtime.getRuntime().availableProcessors();
    }

    /**
     * Runs {@code body} over rows {@code [0, rows)} in up to {@link #threads()} contiguous ranges and returns when all
     * have run. {@code elementsPerRow} sizes the work: small loops run on the caller alone.
     */
    public static void forEach(int rows, long elementsPerRow, Body body) {
        int parts = (int) Math.min(THREADS, Math.min(rows, (long) rows * elementsPerRow / MIN_ELEMENTS));
        if (parts <= 1 || POOL == null) {
            body.rows(0, rows);
            return;
        }
        // A range's failure is kept as thrown (a joined task would rethrow a copy) and rethrown once all have run.
        AtomicReference<RuntimeException> failure = new AtomicReference<>();
        ForkJoinTask<?>[] others = new ForkJoinTask<?>[parts - 1];
        for (int i = 1; i < parts; i++) {
            int from = bound(rows, parts, i);
            int to = bound(rows, parts, i + 1);
            others[i - 1] = POOL.submit(() -> run(body, from, to, failure));
        }
        run(body, 0, bound(rows, parts, 1), failure);
        for (ForkJoinTask<?> t : others) {
            t.join();
        }
        if (failure.get() != null) {
            throw failure.get();
        }
    }

    private static void run(Body body, int from, int to, AtomicReference<RuntimeException> failure) {
        try {
            body.rows(from, to);
        } catch (RuntimeException e) {
            failure.compareAndSet(null, e);
        }
    }

    private static int bound(int rows, int parts, int i) {
        return (int) ((long) rows * i / parts);
    }
}
