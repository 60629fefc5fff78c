package org.peft4j.adapters.model.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.peft4j.adapters.core.Scratch;

/**
 * RMSNorm's fused float32 loops against the ND4J ops in double (the path the gradient checks use), forward and
 * backward, on an odd width and rows of very different scales; and the fallback for a view the loops do not take.
 */
class RmsNormTest {
    private static final long ROWS = 37;
    private static final long COLS = 203;

    /** A few rows, and as many as a sequence has. */
    @ParameterizedTest(name = "{0} rows")
    @ValueSource(longs = {ROWS, 701})
    void fusedFloatLoopsMatchDoublePrecisionOps(long rows) {
        Nd4j.getRandom().setSeed(7);
        INDArray x = Nd4j.randn(DataType.DOUBLE, rows, COLS);
        x.getRow(3).muli(1e3);
        x.getRow(rows - 5).muli(1e-3);
        INDArray gain = Nd4j.rand(DataType.DOUBLE, 1, COLS).addi(0.5);
        INDArray dy = Nd4j.randn(DataType.DOUBLE, rows, COLS);

        RmsNorm exact = new RmsNorm(gain, 1e-6, new Scratch(DataType.DOUBLE), "n");
        INDArray yWant = exact.forward(x, true).dup();
        INDArray dxWant = exact.backward(dy).dup();

        RmsNorm fused = new RmsNorm(gain.castTo(DataType.FLOAT), 1e-6, new Scratch(DataType.FLOAT), "n");
        INDArray xf = x.castTo(DataType.FLOAT);
        INDArray y = fused.forward(xf, true).castTo(DataType.DOUBLE);
        INDArray dx = fused.backward(dy.castTo(DataType.FLOAT)).castTo(DataType.DOUBLE);

        assertRowsClose(yWant, y, "y");
        assertRowsClose(dxWant, dx, "dx");
        assertTrue(xf.equalsWithEps(x.castTo(DataType.FLOAT), 0), "x is left untouched");
    }

    @Test
    void aViewTakesTheNd4jOpsAndAgrees() {
        Nd4j.getRandom().setSeed(8);
        INDArray big = Nd4j.randn(DataType.FLOAT, ROWS + 1, COLS);
        INDArray view = big.get(
                org.nd4j.linalg.indexing.NDArrayIndex.interval(1, ROWS + 1),
                org.nd4j.linalg.indexing.NDArrayIndex.all());
        INDArray gain = Nd4j.rand(DataType.FLOAT, 1, COLS).addi(0.5);
        INDArray dy = Nd4j.randn(DataType.FLOAT, ROWS, COLS);
        RmsNorm onView = new RmsNorm(gain, 1e-5, new Scratch(DataType.FLOAT), "n");
        RmsNorm onCopy = new RmsNorm(gain, 1e-5, new Scratch(DataType.FLOAT), "n");
        INDArray viaOps = onView.forward(view, true).dup();
        INDArray dViaOps = onView.backward(dy).dup();
        INDArray viaLoops = onCopy.forward(view.dup(), true);
        INDArray dViaLoops = onCopy.backward(dy);
        assertRowsClose(viaOps.castTo(DataType.DOUBLE), viaLoops.castTo(DataType.DOUBLE), "y");
        assertRowsClose(dViaOps.castTo(DataType.DOUBLE), dViaLoops.castTo(DataType.DOUBLE), "dx");
    }

    /** Each row within 2e-6 of its own largest element: float32 rounding, whatever the row's scale. */
    private static void assertRowsClose(INDArray want, INDArray got, String what) {
        for (int r = 0; r < want.rows(); r++) {
            double scale = want.getRow(r).amaxNumber().doubleValue();
            double err = want.getRow(r).sub(got.getRow(r)).amaxNumber().doubleValue();
            assertEquals(0, err, 2e-6 * scale, what + " row " + r);
        }
    }
}
