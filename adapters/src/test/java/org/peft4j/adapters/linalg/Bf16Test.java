package org.peft4j.adapters.linalg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Rounding a range of rows to bf16 straight from the whole array: each value as {@link Bf16#bits} rounds it. */
class Bf16Test {
    @Test
    void rowsFromAnOffsetRoundToNearestEven() {
        Nd4j.getRandom().setSeed(3);
        INDArray x = Nd4j.randn(DataType.FLOAT, 9, 37).muli(1e3);
        for (int start : new int[] {0, 1, 4, 8}) {
            int rows = Math.min(3, 9 - start);
            INDArray r = Nd4j.create(DataType.BFLOAT16, rows, 37);
            Bf16.round(x, (long) start * 37, r);
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < 37; j++) {
                    float want = Bf16.value(Bf16.bits(x.getFloat(start + i, j)));
                    assertEquals(want, r.getFloat(i, j), 0f, "row " + (start + i) + " col " + j);
                }
            }
        }
    }

    @Test
    void aRangePastTheEndIsRefused() {
        INDArray x = Nd4j.create(DataType.FLOAT, 4, 8);
        INDArray r = Nd4j.create(DataType.BFLOAT16, 2, 8);
        var e = assertThrows(IllegalArgumentException.class, () -> Bf16.round(x, 17, r));
        assertEquals("Bf16.round: 16 FLOATs from element 17 of FLOAT 32 into BFLOAT16 16", e.getMessage());
    }
}
