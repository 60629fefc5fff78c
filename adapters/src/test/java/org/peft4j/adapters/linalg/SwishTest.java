package org.peft4j.adapters.linalg;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * swish and its backward on each path (oneDNN's eltwise primitives, ND4J's ops) against the formulas in double: odd
 * shapes, large |x|, a dense view inside a larger array, and DOUBLE (always ND4J).
 */
class SwishTest {
    static Stream<Arguments> cases() {
        return Stream.of("onednn", "openblas")
                .flatMap(b -> Stream.of(
                        Arguments.of(b, 1, 1, DataType.FLOAT, false),
                        Arguments.of(b, 7, 13, DataType.FLOAT, false),
                        Arguments.of(b, 33, 129, DataType.FLOAT, true),
                        Arguments.of(b, 9, 31, DataType.DOUBLE, true)));
    }

    @ParameterizedTest(name = "{0} {1}x{2} {3} view={4}")
    @MethodSource("cases")
    void forwardAndBackwardMatchTheFormulas(String backend, int rows, int cols, DataType type, boolean view) {
        GemmBackend old = Blas.use(Blas.choose(backend));
        try {
            SplittableRandom rng = new SplittableRandom(rows * 17L + cols);
            double[][] x = new double[rows][cols];
            double[][] d = new double[rows][cols];
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) {
                    x[i][j] = (i + j) % 11 == 3 ? rng.nextDouble(-60, 60) : rng.nextGaussian() * 3;
                    d[i][j] = rng.nextGaussian();
                }
            }
            INDArray xs = TestMatrices.matrix(x, type, view);
            INDArray y = TestMatrices.matrix(new double[rows][cols], type, view);
            INDArray dd = TestMatrices.matrix(d, type, view);
            Swish.forward(xs, y);
            Swish.backward(xs, dd, Nd4j.create(type, rows, cols));
            double tol = type == DataType.DOUBLE ? 1e-12 : 1e-5;
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) {
                    double s = 1 / (1 + Math.exp(-x[i][j]));
                    double swish = x[i][j] * s;
                    double grad = d[i][j] * s * (1 + x[i][j] * (1 - s));
                    String at = "[" + i + "," + j + "] x=" + x[i][j];
                    assertEquals(swish, y.getDouble(i, j), tol * Math.max(1, Math.abs(swish)), "swish" + at);
                    assertEquals(grad, dd.getDouble(i, j), tol * Math.max(1, Math.abs(grad)), "backward" + at);
                }
            }
        } finally {
            Blas.use(old);
        }
    }
}
