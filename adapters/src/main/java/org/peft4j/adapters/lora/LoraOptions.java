package org.peft4j.adapters.lora;

import org.peft4j.adapters.core.MethodOptions;

/**
 * LoRA options.
 *
 * @param rsLora scale by alpha / sqrt(r) (rank-stabilised LoRA) instead of alpha / r; default false
 */
public record LoraOptions(boolean rsLora) implements MethodOptions {
    public static final LoraOptions DEFAULTS = new LoraOptions(false);
}
