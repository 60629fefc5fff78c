package org.peft4j.adapters;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.core.AdapterParam;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.core.TargetLinear;
import org.peft4j.adapters.lamda.LamdaAdapter;

/**
 * Double-precision gradient check of every adapter x option, including dx: analytic gradients against central
 * differences of L = sum(y * R) with random R, every trainable tensor set to random (non-zero) values first.
 */
class GradientCheckTest {
    private static final double EPS = 1e-6;
    private static final double MAX_REL_ERROR = 1e-6;
    private static final int D_IN = 7;
    private static final int D_OUT = 6;
    private static final int TOKENS = 5;
    private static final int RANK = 3;

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.peft4j.adapters.Fixtures#caseStream")
    void analyticGradientsMatchFiniteDifferences(Fixtures.Case c) {
        check(c, 0);
    }

    /** LaMDA with half of B frozen: frozen rows get zero gradient, the rest still match finite differences. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.peft4j.adapters.Fixtures#caseStream")
    void partiallyFrozenPmbStillChecks(Fixtures.Case c) {
        if (c.method().startsWith("lamda")) {
            check(c, 2);
        }
    }

    private void check(Fixtures.Case c, int frozenRowsOfB) {
        List<TargetLinear> layers = Fixtures.layers(D_IN, D_OUT, DataType.DOUBLE, 11);
        AdapterSet set = Fixtures.inject(c, layers, RANK);
        TargetLinear layer = set.targets().get(0);
        long seed = 100;
        for (AdapterParam p : layer.adapter().params()) {
            if (!p.alwaysFrozen()) {
                p.value()
                        .assign(Fixtures.random(DataType.DOUBLE, p.rows(), p.columns(), seed++)
                                .muli(0.5));
            }
        }
        if (frozenRowsOfB > 0) {
            LamdaAdapter l = (LamdaAdapter) layer.adapter();
            l.params().stream()
                    .filter(p -> p.name().equals("lamda_B"))
                    .findFirst()
                    .orElseThrow()
                    .freezeLeadingRows(frozenRowsOfB);
        }
        INDArray x = Fixtures.random(DataType.DOUBLE, TOKENS, D_IN, 1);
        INDArray r = Fixtures.random(DataType.DOUBLE, TOKENS, D_OUT, 2);

        layer.forward(x, true);
        INDArray dx = layer.backward(r, true).dup();

        for (AdapterParam p : layer.adapter().params()) {
            if (!p.isTrainable()) {
                assertTrue(!p.hasGradBuffer(), c + ": frozen tensor " + p.name() + " has a gradient buffer");
                continue;
            }
            INDArray g = p.grad().dup();
            for (int i = 0; i < p.rows(); i++) {
                for (int j = 0; j < p.columns(); j++) {
                    double numeric = i < p.frozenRows() ? 0 : numeric(layer, x, r, p.value(), i, j);
                    assertClose(c + " " + p.name() + "[" + i + "," + j + "]", g.getDouble(i, j), numeric);
                }
            }
        }
        for (int i = 0; i < TOKENS; i++) {
            for (int j = 0; j < D_IN; j++) {
                assertClose(c + " dx[" + i + "," + j + "]", dx.getDouble(i, j), numeric(layer, x, r, x, i, j));
            }
        }
    }

    private static double numeric(TargetLinear layer, INDArray x, INDArray r, INDArray t, int i, int j) {
        double orig = t.getDouble(i, j);
        t.putScalar(i, j, orig + EPS);
        double plus = layer.forward(x, false).mul(r).sumNumber().doubleValue();
        t.putScalar(i, j, orig - EPS);
        double minus = layer.forward(x, false).mul(r).sumNumber().doubleValue();
        t.putScalar(i, j, orig);
        return (plus - minus) / (2 * EPS);
    }

    private static void assertClose(String what, double analytic, double numeric) {
        double denom = Math.abs(analytic) + Math.abs(numeric);
        if (denom < 1e-9) {
            return; // both zero to within rounding
        }
        double rel = Math.abs(analytic - numeric) / denom;
        assertTrue(
                rel < MAX_REL_ERROR, what + ": analytic " + analytic + " vs numeric " + numeric + " (rel " + rel + ")");
    }

    @org.junit.jupiter.api.Test
    void everyCaseIsCovered() {
        // 4 LoRA + 6 LaMDA + 1 LaMDA++ + 12 Neat combinations.
        assertEquals(23, Fixtures.cases().size());
        assertEquals(Map.of(), Fixtures.cases().get(0).options());
    }
}
