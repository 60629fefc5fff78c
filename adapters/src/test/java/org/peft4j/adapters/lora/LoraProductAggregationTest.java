package org.peft4j.adapters.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.Fixtures;
import org.peft4j.adapters.core.AdapterInjector;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.core.TargetLinear;
import org.peft4j.adapters.registry.AdapterMethods;

/** LoRA with aggregation = product: the dense residual is part of the layer, frozen, and saved with it. */
class LoraProductAggregationTest {

    @Test
    void theResidualIsAddedInForwardBackwardAndMergeButNeverTrains() {
        TargetLinear layer = Fixtures.layer("model.layers.0.self_attn.q_proj", 12, 10, DataType.DOUBLE, 1);
        AdapterSet set = AdapterInjector.inject(
                List.of(layer),
                AdapterMethods.spec("lora", 3, 6.0, List.of("q_proj"), 2L, Map.of("aggregation", "product")));
        LoraAdapter lora = (LoraAdapter) layer.adapter();
        lora.b().value().assign(Fixtures.random(DataType.DOUBLE, 3, 10, 3));
        lora.residual()
                .value()
                .assign(Fixtures.random(DataType.DOUBLE, 12, 10, 4).muli(0.1));
        assertEquals(2, set.trainable().size(), "A and B train; the residual does not");
        assertEquals(3L * (12 + 10), set.trainableCount());

        INDArray effective = layer.weight().add(lora.scaledDeltaWeight());
        INDArray expectedDelta = lora.a()
                .value()
                .mmul(lora.b().value())
                .muli(2.0)
                .addi(lora.residual().value());
        assertTrue(lora.scaledDeltaWeight().equalsWithEps(expectedDelta, 1e-12), "s A B + R");
        INDArray x = Fixtures.random(DataType.DOUBLE, 5, 12, 5);
        INDArray dy = Fixtures.random(DataType.DOUBLE, 5, 10, 6);
        INDArray y = layer.forward(x, true).dup();
        assertTrue(y.equalsWithEps(x.mmul(effective), 1e-10), "forward adds x R");
        INDArray dx = layer.backward(dy, true).dup();
        assertTrue(dx.equalsWithEps(dy.mmul(effective.transpose()), 1e-10), "backward adds dy R^T");
        assertTrue(!lora.residual().hasGradBuffer());
        assertEquals("product", set.spec().options().toJson().get("aggregation"));
    }
}
