package org.peft4j.adapters.neat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.Fixtures;
import org.peft4j.adapters.core.AdapterParam;
import org.peft4j.adapters.core.TargetLinear;

/**
 * Neat reuses the MLP's hidden H of W0 while its weights are bit for bit those H was made from, and makes it again
 * as soon as any of them changes in place (an optimizer step, averaging, a loaded checkpoint), which nothing
 * announces to the adapter.
 */
class NeatHiddenReuseTest {
    private static TargetLinear layer(String orientation) {
        TargetLinear layer = Fixtures.layer(Fixtures.PATH, 12, 10, DataType.FLOAT, 3);
        Fixtures.inject(
                new Fixtures.Case("neat", Map.of("activation", "sin", "depth", "4", "orientation", orientation)),
                java.util.List.of(layer),
                3);
        // T2 starts at zero, which would hide H from the output.
        param(layer, "neat_T2")
                .value()
                .assign(Fixtures.random(DataType.FLOAT, 3, orientation.equals("rows") ? 10 : 12, 9));
        return layer;
    }

    private static AdapterParam param(TargetLinear layer, String name) {
        return layer.adapter().params().stream()
                .filter(p -> p.name().equals(name))
                .findFirst()
                .orElseThrow();
    }

    private static float[] forward(TargetLinear layer, INDArray x) {
        return layer.forward(x, false).dup().data().asFloat();
    }

    @ParameterizedTest
    @CsvSource({"rows,neat_T1", "rows,neat_E0", "rows,neat_D0", "columns,neat_T1", "columns,neat_E0", "columns,neat_D0"
    })
    void aWeightChangedInPlaceIsSeenAndAnUnchangedOneReused(String orientation, String changed) {
        INDArray x = Fixtures.random(DataType.FLOAT, 5, 12, 4);
        TargetLinear reused = layer(orientation);
        float[] first = forward(reused, x);
        assertArrayEquals(first, forward(reused, x), "the same weights: the same output");

        param(reused, changed).value().addi(0.25);
        float[] after = forward(reused, x);
        TargetLinear fresh = layer(orientation);
        param(fresh, changed).value().addi(0.25); // before its first forward: nothing to reuse
        assertArrayEquals(forward(fresh, x), after, changed + " changed in place after a forward");
        assertFalse(Arrays.equals(first, after), "the change moves the output");
    }
}
