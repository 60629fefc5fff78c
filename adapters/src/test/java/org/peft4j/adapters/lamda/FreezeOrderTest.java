package org.peft4j.adapters.lamda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.core.AdapterParam;
import org.peft4j.adapters.linalg.RandomMatrix;
import org.peft4j.adapters.linalg.TruncatedSvd;

/**
 * freeze_order = smallest-first reverses the rank index at init: the adapter's function and the correction it makes
 * to W0 are unchanged, and B's leading rows (the ones that freeze first) become the smallest singular directions.
 */
class FreezeOrderTest {
    static final int R = 4;

    @ParameterizedTest
    @EnumSource(
            value = LamdaInit.class,
            names = {"SVD_RESIDUAL", "SVD_ZERO"})
    void smallestFirstReversesTheDirectionsAndKeepsTheFunction(LamdaInit init) {
        INDArray w0 = RandomMatrix.gaussian(DataType.DOUBLE, 12, 9, new SplittableRandom(5));
        TruncatedSvd.Result svd = TruncatedSvd.compute(w0, R, 7);
        LamdaAdapter largest = adapter(w0, svd, init, FreezeOrder.LARGEST_FIRST);
        LamdaAdapter smallest = adapter(w0, svd, init, FreezeOrder.SMALLEST_FIRST);
        // S is trained from zero under svd-zero: give both the same diagonal so their functions can be compared.
        if (init == LamdaInit.SVD_ZERO) {
            for (int j = 0; j < R; j++) {
                param(largest, "lamda_S").value().putScalar(j, j, j + 1.0);
                param(smallest, "lamda_S").value().putScalar(R - 1 - j, R - 1 - j, j + 1.0);
            }
        }
        assertClose(largest.scaledDeltaWeight(), smallest.scaledDeltaWeight());
        for (int j = 0; j < R; j++) {
            assertClose(
                    param(largest, "lamda_B").value().getRow(j),
                    param(smallest, "lamda_B").value().getRow(R - 1 - j));
            assertClose(
                    param(largest, "lamda_A").value().getColumn(j),
                    param(smallest, "lamda_A").value().getColumn(R - 1 - j));
        }
        if (init == LamdaInit.SVD_RESIDUAL) {
            INDArray s = param(smallest, "lamda_S").value();
            assertTrue(s.getDouble(0, 0) < s.getDouble(R - 1, R - 1), "row 0 is the smallest direction: " + s);
            INDArray correction = param(largest, "lamda_A")
                    .value()
                    .mmul(param(largest, "lamda_residual_B").value());
            INDArray reversed = param(smallest, "lamda_A")
                    .value()
                    .mmul(param(smallest, "lamda_residual_B").value());
            assertClose(correction, reversed);
        }
    }

    @org.junit.jupiter.api.Test
    void smallestFirstIsRefusedWithARandomInit() {
        var e = assertThrows(
                IllegalArgumentException.class,
                () -> LamdaOptions.parse(Map.of("init", "random", "freeze_order", "smallest-first"), R));
        assertTrue(e.getMessage().startsWith("freeze_order: smallest-first"), e.getMessage());
        assertEquals(
                "smallest-first",
                LamdaOptions.parse(Map.of("freeze_order", "smallest-first"), R)
                        .toJson()
                        .get("freeze_order"));
        // The default is not written: options JSON from before freeze_order existed compares equal.
        assertEquals(
                Map.of("init", "svd-residual", "freeze", "paper", "freeze_fraction", 0.3),
                LamdaOptions.parse(Map.of(), R).toJson());
    }

    private static LamdaAdapter adapter(INDArray w0, TruncatedSvd.Result svd, LamdaInit init, FreezeOrder order) {
        LamdaOptions o = new LamdaOptions(init, FreezeMode.PAPER, 0.3, order);
        return LamdaAdapter.init(w0, R, 2.0 * R, o, svd, new SplittableRandom(1));
    }

    private static AdapterParam param(LamdaAdapter a, String name) {
        return a.params().stream()
                .filter(p -> p.name().equals(name))
                .findFirst()
                .orElseThrow();
    }

    private static void assertClose(INDArray expected, INDArray actual) {
        assertEquals(
                0.0,
                expected.sub(actual).amaxNumber().doubleValue(),
                1e-12,
                "expected " + expected + "\nactual " + actual);
    }
}
