package org.peft4j.adapters.linalg;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Every GEMM backend against a double-precision product computed here, on odd shapes, every transposition, blocks
 * inside larger arrays (offsets and leading dimensions wider than the block), alpha and beta; bf16 inputs against
 * the product of their exact fp32 values.
 */
class GemmBackendTest {
    static Stream<GemmBackend> backends() {
        List<GemmBackend> out = new ArrayList<>(List.of(OpenBlasGemm.INSTANCE, Nd4jGemm.INSTANCE));
        OneDnnGemm dnnl = OneDnnGemm.load();
        if (dnnl != null) {
            out.add(dnnl);
        }
        return out.stream();
    }

    @Test
    void oneDnnLoadsOnThisMachineAndAutoPicksIt() {
        // linux-x86_64 is the platform the build ships natives for; where oneDNN loads, auto must pick it.
        assertTrue(OneDnnGemm.load() != null, "oneDNN's native library loads: " + OneDnnGemm.loadError());
        assertEquals("onednn", Blas.choose("auto").name());
        // The version whose kernels the README measured (JavaCPP 1.5.14's build): a dependency slip back to 2.x shows.
        assertTrue(
                Blas.choose("onednn").version().startsWith("3.13."),
                Blas.choose("onednn").version());
        assertEquals("openblas", Blas.choose("openblas").name());
        var e = assertThrows(IllegalArgumentException.class, () -> Blas.choose("mkl"));
        assertEquals("peft4j.gemm: expected one of [auto, onednn, openblas, nd4j], found 'mkl'", e.getMessage());
    }

    record Shape(int m, int n, int k) {}

    static final List<Shape> SHAPES = List.of(
            new Shape(1, 1, 1),
            new Shape(7, 5, 3),
            new Shape(33, 17, 65),
            new Shape(1, 129, 31),
            new Shape(130, 3, 257),
            new Shape(64, 96, 48));

    /** A rows x cols block at (row0, col0) of a larger random array of {@code type}, with its double values. */
    record Operand(Blas.Block block, double[][] values) {}

    static Operand operand(int rows, int cols, DataType type, SplittableRandom rng) {
        int padRows = 2 + rng.nextInt(3);
        int padCols = 1 + rng.nextInt(5);
        int row0 = 1;
        int col0 = padCols / 2 + 1;
        int ld = cols + padCols + 1;
        INDArray base = Nd4j.create(DataType.DOUBLE, rows + padRows, ld);
        for (int i = 0; i < base.rows(); i++) {
            for (int j = 0; j < ld; j++) {
                base.putScalar(i, j, rng.nextDouble() * 2 - 1);
            }
        }
        INDArray typed = base.castTo(type);
        INDArray exact = typed.castTo(DataType.DOUBLE); // the values the backend sees (bf16: rounded)
        double[][] v = new double[rows][cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                v[i][j] = exact.getDouble(row0 + i, col0 + j);
            }
        }
        return new Operand(new Blas.Block(typed, (long) row0 * ld + col0, ld), v);
    }

    static double[][] product(double[][] a, boolean ta, double[][] b, boolean tb, int m, int n, int k) {
        double[][] p = new double[m][n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int l = 0; l < k; l++) {
                    s += (ta ? a[l][i] : a[i][l]) * (tb ? b[j][l] : b[l][j]);
                }
                p[i][j] = s;
            }
        }
        return p;
    }

    static void check(GemmBackend g, DataType in, DataType out, double tolerance) {
        SplittableRandom rng = new SplittableRandom(17);
        GemmBackend previous = Blas.use(g);
        try {
            int checked = 0;
            for (Shape s : SHAPES) {
                for (boolean ta : new boolean[] {false, true}) {
                    for (boolean tb : new boolean[] {false, true}) {
                        double alpha = ta ? 0.75 : 1.0;
                        double beta = tb ? 0.5 : 0.0;
                        Operand a = operand(ta ? s.k() : s.m(), ta ? s.m() : s.k(), in, rng);
                        Operand b = operand(tb ? s.n() : s.k(), tb ? s.k() : s.n(), in, rng);
                        Operand c = operand(s.m(), s.n(), out, rng);
                        INDArray before = c.block().base().dup();
                        Blas.gemm(ta, tb, s.m(), s.n(), s.k(), alpha, a.block(), b.block(), beta, c.block());
                        double[][] p = product(a.values(), ta, b.values(), tb, s.m(), s.n(), s.k());
                        INDArray after = c.block().base();
                        int ld = c.block().ld();
                        for (int i = 0; i < after.rows(); i++) {
                            for (int j = 0; j < ld; j++) {
                                long e = (long) i * ld + j - c.block().offset();
                                boolean inside = e >= 0 && e / ld < s.m() && e % ld < s.n();
                                double found = after.getDouble(i, j);
                                if (!inside) {
                                    assertEquals(before.getDouble(i, j), found, 0.0, g.name() + ": wrote outside");
                                    continue;
                                }
                                double expected = alpha * p[(int) (e / ld)][(int) (e % ld)]
                                        + beta * c.values()[(int) (e / ld)][(int) (e % ld)];
                                assertEquals(
                                        expected,
                                        found,
                                        tolerance * (1 + Math.sqrt(s.k())),
                                        g.name() + " " + s + " ta=" + ta + " tb=" + tb);
                                checked++;
                            }
                        }
                    }
                }
            }
            assertTrue(checked > 10_000, "checked " + checked);
        } finally {
            Blas.use(previous);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void floatProductsMatchDoublePrecision(GemmBackend g) {
        check(g, DataType.FLOAT, DataType.FLOAT, 1e-5);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void doubleProductsMatchToRounding(GemmBackend g) {
        check(g, DataType.DOUBLE, DataType.DOUBLE, 1e-13);
    }

    /** bf16 operands, fp32 result: the exact products of the rounded inputs, accumulated in fp32. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void bf16ProductsAccumulateInFp32(GemmBackend g) {
        check(g, DataType.BFLOAT16, DataType.FLOAT, 1e-5);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void theSameCallGivesTheSameBits(GemmBackend g) {
        GemmBackend previous = Blas.use(g);
        try {
            INDArray a = Nd4j.rand(DataType.FLOAT, 300, 200);
            INDArray b = Nd4j.rand(DataType.FLOAT, 200, 170);
            INDArray c1 = Nd4j.zeros(DataType.FLOAT, 300, 170);
            INDArray c2 = Nd4j.zeros(DataType.FLOAT, 300, 170);
            Gemm.set(c1, a, false, b, false);
            Gemm.set(c2, a, false, b, false);
            assertArrayEquals(c1.data().asFloat(), c2.data().asFloat());
        } finally {
            Blas.use(previous);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void blocksOfRowViewsStartAtTheViewsFirstElement(GemmBackend g) {
        // A view's data buffer already starts at the view's offset (ND4J M2.1): counting that offset twice read
        // and wrote past the rows the view covers.
        GemmBackend previous = Blas.use(g);
        try {
            INDArray a = Nd4j.rand(DataType.FLOAT, 9, 6);
            INDArray b = Nd4j.rand(DataType.FLOAT, 6, 5);
            INDArray whole = Nd4j.zeros(DataType.FLOAT, 10, 5);
            INDArray rows = whole.get(NDArrayIndex.interval(3, 7), NDArrayIndex.all());
            INDArray aRows = a.get(NDArrayIndex.interval(2, 6), NDArrayIndex.all());
            Blas.gemm(
                    false,
                    false,
                    4,
                    5,
                    6,
                    1.0,
                    new Blas.Block(aRows, 0, 6),
                    new Blas.Block(b, 0, 5),
                    0.0,
                    new Blas.Block(rows, 0, 5));
            INDArray expected = aRows.castTo(DataType.DOUBLE).mmul(b.castTo(DataType.DOUBLE));
            for (int i = 0; i < 4; i++) {
                for (int j = 0; j < 5; j++) {
                    assertEquals(expected.getDouble(i, j), rows.getDouble(i, j), 1e-5);
                }
            }
            assertEquals(
                    0.0,
                    whole.get(NDArrayIndex.interval(0, 3), NDArrayIndex.all())
                            .sumNumber()
                            .doubleValue());
            assertEquals(
                    0.0,
                    whole.get(NDArrayIndex.interval(7, 10), NDArrayIndex.all())
                            .sumNumber()
                            .doubleValue());
        } finally {
            Blas.use(previous);
        }
    }
}
