package org.peft4j.adapters.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.peft4j.adapters.core.AdapterParam;

/**
 * AdamW's fused float32 loop against the same update as ND4J ops (bit for bit) and against a double-precision
 * reference, with frozen leading rows (LaMDA's B mid-freeze) and with and without weight decay.
 */
class AdamWTest {
    private static final int ROWS = 7;
    private static final int COLS = 1500; // 10,500 elements: two whole 4096-element chunks and a short one

    @ParameterizedTest(name = "frozen rows {0}, weight decay {1}")
    @CsvSource({"0, 0.0", "0, 0.1", "3, 0.0", "3, 0.1"})
    void fusedLoopEqualsNd4jOpsBitForBitAndDoubleWithinFloatRounding(int frozen, double wd) {
        double lr = 3e-3;
        AdamW opt = new AdamW(0.9, 0.999, 1e-8, wd);
        Nd4j.getRandom().setSeed(11 + frozen);
        INDArray w = Nd4j.rand(DataType.FLOAT, ROWS, COLS).subi(0.5);
        AdapterParam p = AdapterParam.trainable("t", w);
        p.setFrozenRows(frozen);
        INDArray frozenBefore = w.get(NDArrayIndex.interval(0, Math.max(frozen, 1)), NDArrayIndex.all())
                .dup();
        // The references: the update as ND4J ops on float copies, and in double.
        INDArray rw = w.dup();
        INDArray rm = Nd4j.zeros(DataType.FLOAT, ROWS, COLS);
        INDArray rv = Nd4j.zeros(DataType.FLOAT, ROWS, COLS);
        INDArray dw = w.castTo(DataType.DOUBLE);
        INDArray dm = Nd4j.zeros(DataType.DOUBLE, ROWS, COLS);
        INDArray dv = Nd4j.zeros(DataType.DOUBLE, ROWS, COLS);
        INDArray start = w.dup();
        for (int step = 1; step <= 5; step++) {
            INDArray g = Nd4j.randn(DataType.FLOAT, ROWS, COLS).muli(Math.pow(10, -step)); // gradients of 1e-5..0.1
            if (frozen > 0) {
                g.get(NDArrayIndex.interval(0, frozen), NDArrayIndex.all()).assign(0);
            }
            p.grad().assign(g);
            opt.step(Map.of("t", p), lr);
            double c1 = 1 - Math.pow(0.9, step);
            double c2 = 1 - Math.pow(0.999, step);
            ops(rows(rw, frozen), rows(g, frozen), rows(rm, frozen), rows(rv, frozen), wd, lr, c1, c2);
            ops(
                    rows(dw, frozen),
                    rows(g.castTo(DataType.DOUBLE), frozen),
                    rows(dm, frozen),
                    rows(dv, frozen),
                    wd,
                    lr,
                    c1,
                    c2);
            assertArrayEquals(rw.data().asFloat(), w.data().asFloat(), "weights after step " + step);
            assertArrayEquals(
                    rm.data().asFloat(), opt.state().get("t" + AdamW.M).data().asFloat(), "m, step " + step);
            assertArrayEquals(
                    rv.data().asFloat(), opt.state().get("t" + AdamW.V).data().asFloat(), "v, step " + step);
            assertEquals(0.0, p.grad().sumNumber().doubleValue(), "gradient cleared");
            if (step == 1 && wd == 0) {
                // The first step has m_hat = g and v_hat = g^2: every trainable weight moves by
                // lr |g| / (|g| + eps), up to the float rounding of w (|w| < 0.5: an ulp is 3e-8).
                INDArray moved = Transforms.abs(rows(w, frozen).sub(rows(start, frozen)));
                INDArray absG = Transforms.abs(rows(g, frozen)).castTo(DataType.DOUBLE);
                INDArray want = absG.mul(lr).divi(absG.add(1e-8));
                double err = Transforms.abs(moved.castTo(DataType.DOUBLE).sub(want))
                        .maxNumber()
                        .doubleValue();
                assertEquals(0, err, 1e-7, "first step: lr |g| / (|g| + eps) per weight");
                assertEquals(lr, want.maxNumber().doubleValue(), 0.01 * lr);
            }
        }
        // Five steps of float rounding: within a few ulps of the weights (|w| < 0.52) against the double update.
        double err =
                Transforms.abs(w.castTo(DataType.DOUBLE).sub(dw)).maxNumber().doubleValue();
        assertTrue(err < 1e-6, "float against double: " + err);
        // Each step moved every trainable weight by about lr (Adam's normalised step), and no frozen one.
        if (frozen > 0) {
            assertEquals(frozenBefore, w.get(NDArrayIndex.interval(0, frozen), NDArrayIndex.all()));
        }
    }

    /** The update as ND4J ops, as AdamW makes it for arrays the loop does not take. */
    private static void ops(
            INDArray w, INDArray g, INDArray m, INDArray v, double wd, double lr, double c1, double c2) {
        if (wd != 0) {
            w.muli(1 - lr * wd);
        }
        m.muli(0.9).addi(g.mul(1 - 0.9));
        v.muli(0.999).addi(g.mul(g).muli(1 - 0.999));
        INDArray denom = Transforms.sqrt(v.div(c2), false).addi(1e-8);
        w.subi(m.mul(lr / c1).divi(denom));
    }

    private static INDArray rows(INDArray t, int frozen) {
        return frozen == 0 ? t : t.get(NDArrayIndex.interval(frozen, ROWS), NDArrayIndex.all());
    }
}
