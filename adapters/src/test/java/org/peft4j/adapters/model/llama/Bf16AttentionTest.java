package org.peft4j.adapters.model.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.core.AdapterInjector;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.core.AdapterSpec;
import org.peft4j.adapters.linalg.Bf16;
import org.peft4j.adapters.linalg.Blas;
import org.peft4j.adapters.linalg.GemmBackend;
import org.peft4j.adapters.linalg.HeadProducts;
import org.peft4j.adapters.registry.AdapterMethods;

/**
 * A bf16 model's attention with bf16 products (oneDNN, head-major) against the same model's attention with fp32
 * products (OpenBLAS multiplies the exact fp32 values of the same bf16 weights and inputs): on the GQA test model
 * with padding, loss and every adapter gradient agree within what rounding the probabilities and dS to bf16 costs.
 */
class Bf16AttentionTest {
    @Test
    void bf16AttentionProductsMatchFp32ProductsWithinBf16Rounding() {
        Map<String, INDArray> viaBf16 = gradients("onednn");
        Map<String, INDArray> viaFp32 = gradients("openblas");
        double loss16 = viaBf16.remove("loss").getDouble(0);
        double loss32 = viaFp32.remove("loss").getDouble(0);
        assertEquals(loss32, loss16, 2e-3 * loss32, "loss");
        if (Bf16.fastOnThisCpu()) {
            assertNotEquals(loss32, loss16, "the bf16 products ran (fp32 ones would give the fp32 loss to the bit)");
        }
        for (String name : viaFp32.keySet()) {
            INDArray want = viaFp32.get(name);
            double rel = viaBf16.get(name).sub(want).norm2Number().doubleValue()
                    / want.norm2Number().doubleValue();
            // Measured up to 1.2% on this model; bf16 keeps 8 significant bits (relative error up to 0.4% each).
            assertTrue(rel < 0.03, name + ": relative gradient difference " + rel);
        }
    }

    /** The loss (as "loss") and the adapter gradients of one backward pass with the products on {@code backend}. */
    private static Map<String, INDArray> gradients(String backend) {
        GemmBackend before = Blas.use(Blas.choose(backend));
        try {
            assertEquals(backend.equals("onednn") && Bf16.fastOnThisCpu(), HeadProducts.available());
            LlamaConfig c = LlamaModelTrainingTest.small();
            LlamaModel model = new LlamaModel(
                    LlamaModelTrainingTest.weights(c, DataType.FLOAT).toBf16());
            AdapterSet set = AdapterInjector.inject(
                    model.linears(),
                    AdapterMethods.spec("lora", 4, 8.0, AdapterSpec.DEFAULT_TARGETS, 11L, Map.of("init", "pissa")));
            Map<String, INDArray> out = new LinkedHashMap<>();
            double loss = model.causalLm(LlamaModelTrainingTest.lmBatch(), true).mean();
            out.put("loss", org.nd4j.linalg.factory.Nd4j.scalar(loss));
            set.params().forEach((name, p) -> {
                if (p.isTrainable()) {
                    out.put(name, p.grad().dup());
                }
            });
            return out;
        } finally {
            Blas.use(before);
        }
    }
}
