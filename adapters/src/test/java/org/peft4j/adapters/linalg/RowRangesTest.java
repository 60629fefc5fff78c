package org.peft4j.adapters.linalg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** RowRanges: every row exactly once, small loops on the caller, large ones split, a failure rethrown. */
class RowRangesTest {
    @ParameterizedTest(name = "{0} rows of {1}")
    @CsvSource({"0, 1000000", "1, 1000000", "3, 1000000", "7, 100000", "2049, 1024", "100, 10"})
    void everyRowRunsExactlyOnce(int rows, long perRow) {
        AtomicIntegerArray seen = new AtomicIntegerArray(Math.max(rows, 1));
        RowRanges.forEach(rows, perRow, (from, to) -> {
            for (int r = from; r < to; r++) {
                seen.incrementAndGet(r);
            }
        });
        for (int r = 0; r < rows; r++) {
            assertEquals(1, seen.get(r), "row " + r);
        }
    }

    @Test
    void aSmallLoopRunsOnTheCaller() {
        Set<Thread> threads = ConcurrentHashMap.newKeySet();
        RowRanges.forEach(63, 1024, (from, to) -> threads.add(Thread.currentThread()));
        assertEquals(Set.of(Thread.currentThread()), threads);
    }

    @Test
    void aLargeLoopIsSplitOverTheThreads() {
        assumeTrue(RowRanges.threads() >= 2, "one compute thread here");
        Set<Thread> threads = ConcurrentHashMap.newKeySet();
        AtomicIntegerArray calls = new AtomicIntegerArray(1);
        RowRanges.forEach(2048, 1024, (from, to) -> {
            threads.add(Thread.currentThread());
            calls.incrementAndGet(0);
        });
        assertEquals(Math.min(RowRanges.threads(), 2048 * 1024 / RowRanges.MIN_ELEMENTS), calls.get(0));
        assertEquals(calls.get(0), threads.size(), "one thread per range");
    }

    @Test
    void aFailureInAnyRangeIsRethrownAfterAllHaveRun() {
        assumeTrue(RowRanges.threads() >= 2, "one compute thread here");
        IllegalStateException boom = new IllegalStateException("boom");
        AtomicIntegerArray done = new AtomicIntegerArray(1);
        IllegalStateException thrown = assertThrows(
                IllegalStateException.class,
                () -> RowRanges.forEach(1 << 12, 1 << 10, (from, to) -> {
                    if (from > 0) {
                        throw boom;
                    }
                    done.incrementAndGet(0);
                }));
        assertSame(boom, thrown);
        assertEquals(1, done.get(0), "the caller's range ran");
    }
}
