package org.peft4j.adapters.linalg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Row softmax and its backward on each path (oneDNN's primitives, ND4J's ops) against the formulas computed here in
 * double: odd shapes, large logits, masked entries (-1e9) and a FLOAT row with every entry masked (uniform, not
 * NaN), a dense view that starts inside its array (the LM head's last chunk), and DOUBLE (always ND4J).
 */
class RowSoftmaxTest {
    static Stream<Arguments> cases() {
        return Stream.of("onednn", "openblas")
                .flatMap(b -> Stream.of(
                        Arguments.of(b, 1, 1, DataType.FLOAT, false),
                        Arguments.of(b, 7, 5, DataType.FLOAT, false),
                        Arguments.of(b, 33, 129, DataType.FLOAT, true),
                        Arguments.of(b, 130, 3, DataType.FLOAT, true),
                        Arguments.of(b, 17, 31, DataType.DOUBLE, true)));
    }

    @ParameterizedTest(name = "{0} {1}x{2} {3} view={4}")
    @MethodSource("cases")
    void forwardAndBackwardMatchTheFormulas(String backend, int rows, int cols, DataType type, boolean view) {
        GemmBackend old = Blas.use(Blas.choose(backend));
        try {
            SplittableRandom rng = new SplittableRandom(rows * 31L + cols);
            double[][] s = new double[rows][cols];
            double[][] g = new double[rows][cols];
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) {
                    s[i][j] = rng.nextDouble(-30, 30);
                    g[i][j] = rng.nextGaussian();
                    if (cols > 1 && i % 3 == 1 && j > i % cols) {
                        s[i][j] = -1e9; // causal-style mask
                    }
                }
            }
            boolean fullyMasked = rows > 2 && type == DataType.FLOAT;
            if (fullyMasked) {
                // Every key masked: a uniform row. FLOAT only: ND4J M2.1's DOUBLE softmax gives NaN there.
                java.util.Arrays.fill(s[2], -1e9);
            }
            INDArray x = TestMatrices.matrix(s, type, view);
            INDArray dy = TestMatrices.matrix(g, type, view);
            RowSoftmax.forward(x);
            double tol = type == DataType.DOUBLE ? 1e-12 : 2e-6;
            double[][] p = new double[rows][cols];
            for (int i = 0; i < rows; i++) {
                double max = java.util.Arrays.stream(s[i]).max().orElseThrow();
                double sum = 0;
                for (int j = 0; j < cols; j++) {
                    p[i][j] = Math.exp(s[i][j] - max);
                    sum += p[i][j];
                }
                double rowSum = 0;
                for (int j = 0; j < cols; j++) {
                    p[i][j] /= sum;
                    rowSum += x.getDouble(i, j);
                    assertEquals(p[i][j], x.getDouble(i, j), tol, "p[" + i + "," + j + "]");
                }
                assertEquals(1.0, rowSum, 1e-5);
            }
            if (fullyMasked) {
                assertEquals(1.0 / cols, x.getDouble(2, cols - 1), 1e-6, "a fully masked row is uniform");
            }
            RowSoftmax.backward(x, dy, Nd4j.create(type, rows, cols));
            for (int i = 0; i < rows; i++) {
                double dot = 0;
                for (int j = 0; j < cols; j++) {
                    dot += p[i][j] * g[i][j];
                }
                for (int j = 0; j < cols; j++) {
                    double expected = p[i][j] * (g[i][j] - dot);
                    assertEquals(expected, dy.getDouble(i, j), tol * 4, "ds[" + i + "," + j + "]");
                }
            }
            assertTrue(Double.isFinite(dy.sumNumber().doubleValue()));
        } finally {
            Blas.use(old);
        }
    }
}
