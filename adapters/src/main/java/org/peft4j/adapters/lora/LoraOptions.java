package org.peft4j.adapters.lora;

import java.util.List;
import java.util.Map;
import org.peft4j.adapters.core.KeyedOption;
import org.peft4j.adapters.core.MethodOption;
import org.peft4j.adapters.core.MethodOptions;
import org.peft4j.adapters.core.OptionSet;

/**
 * LoRA options; keys, defaults and docs are the constants below.
 *
 * @param rsLora scale by alpha / sqrt(r) (rank-stabilised LoRA) instead of alpha / r
 * @param aggregation how executors' adapters combine between rounds
 * @param init how A and B start
 */
public record LoraOptions(boolean rsLora, Aggregation aggregation, Init init) implements MethodOptions {
    public static final MethodOption<Boolean> RSLORA =
            MethodOption.bool("rslora", false, "scale by alpha / sqrt(r) (rank-stabilised LoRA) instead of alpha / r");
    public static final MethodOption<Aggregation> AGGREGATION = MethodOption.choice(
            "aggregation",
            Aggregation.class,
            Aggregation.FACTORS,
            "factors: average A and B (inexact: mean(A) mean(B) != mean(A B)); product: also average s A B into a"
                    + " frozen dense residual, exact, for exactness studies and small models");

    public static final MethodOption<Init> INIT = MethodOption.choice(
            "init",
            Init.class,
            Init.KAIMING,
            "kaiming: A Kaiming-uniform, B 0 (PEFT's default); gaussian: A normal(0, 1/r), B 0; pissa: A, B from W0's"
                    + " principal singular vectors, the rest left in W0 (step 0 equals the base model)");
    public static final OptionSet<LoraOptions> SET =
            new OptionSet<>(LoraOptions.class, List.of(RSLORA, AGGREGATION, INIT), LoraOptions::parse);

    /** How A and B start (PEFT's init_lora_weights). */
    public enum Init implements KeyedOption {
        KAIMING,
        GAUSSIAN,
        PISSA
    }

    /**
     * {@code product}: averaging across executors keeps the product exact. The factors are averaged as usual and the
     * difference mean(s A B) - s mean(A) mean(B) accumulates in a frozen dense tensor {@code lora_residual} (d_in x
     * d_out) that the layer adds, so the averaged layer equals the average of the executors' layers. Costs a dense
     * d_in x d_out product per target in forward and backward and per round on the wire.
     */
    public enum Aggregation implements KeyedOption {
        FACTORS,
        PRODUCT
    }

    static LoraOptions parse(Map<String, String> raw, int rank) {
        return new LoraOptions(RSLORA.read(raw, rank), AGGREGATION.read(raw, rank), INIT.read(raw, rank));
    }

    public boolean productAggregation() {
        return aggregation == Aggregation.PRODUCT;
    }

    @Override
    public Map<String, Object> toJson() {
        return SET.json(rsLora, aggregation, init);
    }
}
