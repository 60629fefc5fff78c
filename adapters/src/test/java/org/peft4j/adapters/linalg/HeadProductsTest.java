package org.peft4j.adapters.linalg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Attention's head-major bf16 products: the layout copies put every element where head-major order says, and the
 * batched products match a double-precision product of the operands' bf16 values.
 */
class HeadProductsTest {
    private GemmBackend before;

    @BeforeEach
    void useOneDnn() {
        before = Blas.use(Blas.choose("onednn"));
    }

    @AfterEach
    void restore() {
        Blas.use(before);
    }

    @Test
    void copiesToHeadMajorAndBackPutEveryElementInItsPlace() {
        int n = 7, heads = 3, headDim = 5, row0 = 2, rows = 4;
        INDArray x = Nd4j.rand(DataType.FLOAT, n, heads * headDim);
        INDArray f = Nd4j.create(DataType.FLOAT, (long) heads * rows, headDim);
        INDArray b = Nd4j.create(DataType.BFLOAT16, (long) heads * rows, headDim);
        HeadProducts.toHeadMajor(x, row0, rows, heads, headDim, f);
        HeadProducts.toHeadMajor(x, row0, rows, heads, headDim, b);
        INDArray back = Nd4j.create(DataType.FLOAT, n, heads * headDim).assign(-1);
        HeadProducts.fromHeadMajor(f, back, row0, rows, heads, headDim);
        for (int t = 0; t < n; t++) {
            for (int h = 0; h < heads; h++) {
                for (int d = 0; d < headDim; d++) {
                    float v = x.getFloat(t, (long) h * headDim + d);
                    boolean inside = t >= row0 && t < row0 + rows;
                    assertEquals(inside ? v : -1f, back.getFloat(t, (long) h * headDim + d), 0f, t + "," + h + "," + d);
                    if (inside) {
                        long r = (long) h * rows + t - row0;
                        assertEquals(v, f.getFloat(r, d), 0f);
                        assertEquals(Bf16.value(Bf16.bits(v)), b.getFloat(r, d), 0f, "rounded to nearest even");
                    }
                }
            }
        }
    }

    /** Shapes as attention makes them: batch = key/value heads, m = group rows, and every transposition. */
    @ParameterizedTest
    @CsvSource({
        "false, true, 2, 12, 6, 5, 0.5, BFLOAT16",
        "false, false, 2, 12, 5, 6, 1.0, BFLOAT16",
        "true, false, 3, 6, 5, 12, 0.25, BFLOAT16",
        "true, true, 1, 9, 7, 33, 1.0, BFLOAT16",
        "false, true, 2, 12, 6, 5, 0.5, FLOAT",
        "true, false, 3, 6, 5, 12, 0.25, FLOAT",
        "true, true, 1, 9, 7, 33, 1.0, FLOAT"
    })
    void batchedProductsMatchDoublePrecisionOfTheOperandsValues(
            boolean transA, boolean transB, int batch, int m, int n, int k, double alpha, DataType operands) {
        SplittableRandom rng = new SplittableRandom(batch * 131L + m);
        INDArray a = random((long) batch * m * k, rng);
        INDArray b = random((long) batch * k * n, rng);
        if (operands == DataType.BFLOAT16) {
            a = Bf16.of(a);
            b = Bf16.of(b);
        }
        INDArray c = Nd4j.create(DataType.FLOAT, (long) batch * m, n).assign(Float.NaN); // overwritten, not added to
        HeadProducts.product(transA, transB, batch, m, n, k, alpha, a, b, c, null);
        double worst = 0;
        for (int i = 0; i < batch; i++) {
            for (int r = 0; r < m; r++) {
                for (int col = 0; col < n; col++) {
                    double want = 0;
                    for (int j = 0; j < k; j++) {
                        long ai = (long) i * m * k + (transA ? (long) j * m + r : (long) r * k + j);
                        long bi = (long) i * k * n + (transB ? (long) col * k + j : (long) j * n + col);
                        want += a.getDouble(ai) * b.getDouble(bi);
                    }
                    worst = Math.max(worst, Math.abs(alpha * want - c.getDouble((long) i * m + r, col)));
                }
            }
        }
        assertTrue(worst < 1e-5 * k, "worst error " + worst + " (fp32 accumulation of " + k + " terms)");
    }

    @Test
    void anAddendJoinsTheProductAfterTheScale() {
        SplittableRandom rng = new SplittableRandom(3);
        int batch = 3, m = 8, n = 4, k = 6;
        INDArray a = Bf16.of(random((long) batch * m * k, rng));
        INDArray b = Bf16.of(random((long) batch * k * n, rng));
        INDArray add = random((long) m * n, rng).reshape(m, n); // one matrix, added to each of the batch's
        add.putScalar(1, 2, -1e9); // a mask entry
        INDArray plain = Nd4j.create(DataType.FLOAT, (long) batch * m, n);
        INDArray masked = Nd4j.create(DataType.FLOAT, (long) batch * m, n);
        HeadProducts.product(false, true, batch, m, n, k, 0.5, a, b, plain, null);
        HeadProducts.product(false, true, batch, m, n, k, 0.5, a, b, masked, add);
        for (int i = 0; i < batch; i++) {
            for (int r = 0; r < m; r++) {
                for (int c = 0; c < n; c++) {
                    double want = plain.getDouble((long) i * m + r, c) + add.getDouble(r, c);
                    assertEquals(want, masked.getDouble((long) i * m + r, c), 1e-6 * Math.max(1, Math.abs(want)));
                }
            }
        }
    }

    @Test
    void softmaxBackwardMatchesDoublePrecision() {
        SplittableRandom rng = new SplittableRandom(13);
        int rows = 5, cols = 29;
        INDArray p = random((long) rows * cols, rng).muli(3).reshape(rows, cols).dup();
        RowSoftmax.forward(p);
        INDArray g = random((long) rows * cols, rng).reshape(rows, cols).dup();
        INDArray want = Nd4j.create(DataType.DOUBLE, rows, cols);
        for (int r = 0; r < rows; r++) {
            double dot = 0;
            for (int c = 0; c < cols; c++) {
                dot += p.getDouble(r, c) * g.getDouble(r, c);
            }
            for (int c = 0; c < cols; c++) {
                want.putScalar(r, c, p.getDouble(r, c) * (g.getDouble(r, c) - dot));
            }
        }
        HeadProducts.softmaxBackward(p, g);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                assertEquals(want.getDouble(r, c), g.getDouble(r, c), 1e-6, r + "," + c);
            }
        }
    }

    @Test
    void refusesOperandsOfTheWrongTypeOrSize() {
        INDArray a = Nd4j.create(DataType.BFLOAT16, 4, 3);
        INDArray f = Nd4j.create(DataType.FLOAT, 3, 2);
        INDArray c = Nd4j.create(DataType.FLOAT, 4, 2);
        var e = assertThrows(
                IllegalArgumentException.class, () -> HeadProducts.product(false, false, 1, 4, 2, 3, 1, a, f, c, null));
        assertTrue(e.getMessage().contains("dense BFLOAT16 x BFLOAT16 (or FLOAT x FLOAT) -> FLOAT"), e.getMessage());
        INDArray b = Nd4j.create(DataType.BFLOAT16, 3, 2);
        INDArray c16 = Nd4j.create(DataType.BFLOAT16, 4, 2);
        var addend = assertThrows(
                IllegalArgumentException.class,
                () -> HeadProducts.product(false, false, 1, 4, 2, 3, 1, a, b, c16, Nd4j.create(DataType.FLOAT, 4, 2)));
        assertTrue(addend.getMessage().contains("for a FLOAT c"), addend.getMessage());
        assertThrows(IllegalArgumentException.class, () -> HeadProducts.softmaxBackward(c16, c));
        assertThrows(
                IllegalArgumentException.class,
                () -> HeadProducts.toHeadMajor(
                        Nd4j.create(DataType.FLOAT, 4, 6), 0, 4, 2, 3, Nd4j.create(DataType.FLOAT, 5, 3)));
    }

    private static INDArray random(long n, SplittableRandom rng) {
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rng.nextGaussian();
        }
        return Nd4j.createFromArray(v);
    }
}
