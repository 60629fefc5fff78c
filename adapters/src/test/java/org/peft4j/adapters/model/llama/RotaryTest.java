package org.peft4j.adapters.model.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Rotary's float32 loop against the formula in double, with positions shared by every row and per row (as left
 * padding shifts them); backward undoes forward.
 */
class RotaryTest {
    @ParameterizedTest(name = "{0} rows x {1} tokens x {2} heads, per-row positions {3}")
    @CsvSource({"2,5,3,false", "3,7,2,true", "4,130,8,false", "3,200,8,true"})
    void floatLoopMatchesTheFormula(int rows, int length, int heads, boolean perRow) {
        int headDim = 16;
        int half = headDim / 2;
        Rotary rotary = new Rotary(headDim, RopeScaling.plain(10000.0));
        int[] positions = new int[perRow ? rows * length : length];
        for (int i = 0; i < positions.length; i++) {
            positions[i] = perRow ? (i % length) * 3 + i / length : i; // rows shifted as left padding shifts them
        }
        Rotary.Tables t = rotary.tables(positions, perRow ? rows : 1, length);
        Nd4j.getRandom().setSeed(rows * 31L + length);
        INDArray x = Nd4j.randn(DataType.FLOAT, (long) rows * length, (long) heads * headDim);
        INDArray y = x.dup();
        rotary.apply(y, rows, length, heads, t);
        for (int r = 0; r < rows; r++) {
            for (int p = 0; p < length; p++) {
                int pos = positions[perRow ? r * length + p : p];
                for (int h = 0; h < heads; h++) {
                    for (int i = 0; i < half; i++) {
                        double a = pos * Math.pow(10000.0, -2.0 * i / headDim);
                        int row = r * length + p;
                        double x1 = x.getDouble(row, h * headDim + i);
                        double x2 = x.getDouble(row, h * headDim + half + i);
                        String at = "row " + row + " head " + h + " pair " + i;
                        assertEquals(x1 * Math.cos(a) - x2 * Math.sin(a), y.getDouble(row, h * headDim + i), 2e-5, at);
                        assertEquals(
                                x2 * Math.cos(a) + x1 * Math.sin(a),
                                y.getDouble(row, h * headDim + half + i),
                                2e-5,
                                at);
                    }
                }
            }
        }
        rotary.applyBackward(y, rows, length, heads, t);
        assertEquals(0, x.sub(y).amaxNumber().doubleValue(), 2e-5, "backward is the inverse rotation");
    }
}
