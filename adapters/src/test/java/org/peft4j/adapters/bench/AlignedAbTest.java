package org.peft4j.adapters.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.peft4j.adapters.linalg.AlignedArrays;

/** {@code bench --ab aligned}: both models step, every pair is timed, and alignment is left as it was found. */
class AlignedAbTest {
    private static final ModelBench.Shape TINY =
            new ModelBench.Shape(null, 64, 0, 1, 4, 0, 101, 16, 2, 4, List.of("q_proj", "v_proj"), 1.0);

    @Test
    void timesEveryPairAndRestoresTheSetting() {
        AlignedAb.Result r = AlignedAb.run(TINY, "lora", 3, DataType.BFLOAT16);
        assertEquals(3, r.offSeconds().length);
        assertEquals(3, r.onSeconds().length);
        for (int i = 0; i < 3; i++) {
            assertTrue(r.offSeconds()[i] > 0 && r.onSeconds()[i] > 0, "pair " + i);
        }
        assertTrue(r.onFaster() >= 0 && r.onFaster() <= 3);
        assertEquals(r.medianOff() / r.medianOn(), r.speedup(), 1e-12);
        assertTrue(AlignedArrays.enabled(), "alignment is back on");
        assertEquals("bfloat16", r.dtype());
    }

    @Test
    void disabledArraysAreOrdinaryOnes() {
        long before = AlignedArrays.liveBytes();
        AlignedArrays.setEnabled(false);
        try {
            AlignedArrays.create(DataType.FLOAT, 512, 512);
            assertEquals(before, AlignedArrays.liveBytes(), "no aligned block made while off");
            assertFalse(AlignedArrays.enabled());
        } finally {
            AlignedArrays.setEnabled(true);
        }
        AlignedArrays.create(DataType.FLOAT, 512, 512);
        assertTrue(AlignedArrays.liveBytes() >= before + 512 * 512 * 4, "and one made once on again");
    }

    @Test
    void medianOfOddAndEvenCountsAndNoPairsRefused() {
        assertEquals(2.0, AlignedAb.median(new double[] {3, 1, 2}), 0);
        assertEquals(2.5, AlignedAb.median(new double[] {4, 1, 3, 2}), 0);
        assertThrows(IllegalArgumentException.class, () -> AlignedAb.run(TINY, "lora", 0, DataType.FLOAT));
    }
}
