package org.peft4j.adapters.lora;

import org.peft4j.adapters.core.MethodOptions;

/**
 * LoRA options.
 *
 * @param rsLora scale by alpha / sqrt(r) (rank-stabilised LoRA) instead of alpha / r; default false
 * @param productAggregation {@code aggregation = product}: averaging across executors keeps the product exact. The
 *     factors are averaged as usual and the difference mean(s A B) - s mean(A) mean(B) accumulates in a frozen
 *     dense tensor {@code lora_residual} (d_in x d_out) that the layer adds, so the averaged layer equals the
 *     average of the executors' layers. Costs a dense d_in x d_out product per target in forward and backward and
 *     per round on the wire: for exactness studies and small models. Default false ({@code factors}).
 */
public record LoraOptions(boolean rsLora, boolean productAggregation) implements MethodOptions {
    public static final LoraOptions DEFAULTS = new LoraOptions(false, false);

    public String aggregation() {
        return productAggregation ? "product" : "factors";
    }
}
