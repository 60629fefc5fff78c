package org.peft4j.adapters.lora;

import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.core.Aggregation;
import org.peft4j.adapters.core.TargetLinear;

/**
 * LoRA's {@code aggregation = product}: averaging A and B separately gives s mean(A) mean(B), not the average of the
 * executors' updates s mean(A B). Executors also send s A B; the driver adds the difference to the adapter's frozen
 * dense {@code lora_residual}, so that after each round s A B + R equals the example-weighted average of the
 * executors' s A_i B_i + R exactly (up to float rounding).
 */
final class ProductAggregation implements Aggregation {
    static final ProductAggregation INSTANCE = new ProductAggregation();

    private ProductAggregation() {}

    /** s A B of every LoRA target that aggregates by product, by module path. */
    @Override
    public Map<String, INDArray> extras(AdapterSet set) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        for (TargetLinear t : set.targets()) {
            if (t.adapter() instanceof LoraAdapter l && l.residual() != null) {
                out.put(t.path(), l.a().value().mmul(l.b().value()).muli(l.scaling()));
            }
        }
        return out;
    }

    /** Every {@code lora_residual}: frozen on the executors, changed by {@link #fold} on the driver. */
    @Override
    public java.util.Set<String> folded(AdapterSet set) {
        java.util.Set<String> out = new java.util.LinkedHashSet<>();
        for (TargetLinear t : set.targets()) {
            if (t.adapter() instanceof LoraAdapter l && l.residual() != null) {
                out.add(t.path() + "." + l.residual().name());
            }
        }
        return out;
    }

    /** R += mean(s A_i B_i) - s A B, with A and B the averaged factors already in {@code set}. */
    @Override
    public void fold(AdapterSet set, Map<String, INDArray> averagedProducts) {
        for (TargetLinear t : set.targets()) {
            INDArray mean = averagedProducts.get(t.path());
            if (mean != null && t.adapter() instanceof LoraAdapter l) {
                INDArray ofAverages = l.a().value().mmul(l.b().value()).muli(l.scaling());
                l.residual().value().addi(mean.subi(ofAverages));
            }
        }
    }
}
