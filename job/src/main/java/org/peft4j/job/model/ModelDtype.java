package org.peft4j.job.model;

import java.util.Locale;
import org.nd4j.linalg.api.buffer.DataType;
import org.peft4j.adapters.core.KeyedOption;

/**
 * {@code model.dtype} / {@code --dtype}: how the base model's embedding, linears and head are stored, and so how
 * its products run. Norms, activations, losses and every adapter tensor, gradient and optimizer moment are fp32
 * either way.
 */
public enum ModelDtype implements KeyedOption {
    /** As transformers 5 loads: the checkpoint's dtype; bf16 only where this CPU computes it fast, else fp32. */
    AUTO,
    FLOAT32,
    /** Stored in bf16 (half the memory), products of bf16-rounded inputs accumulated in fp32. */
    BFLOAT16;

    @Override
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a key; {@code bf16}, {@code fp32} and {@code f32} are accepted as their long names. */
    public static ModelDtype parse(String s, String what) {
        String k = s.strip().toLowerCase(Locale.ROOT);
        return switch (k) {
            case "auto" -> AUTO;
            case "float32", "fp32", "f32" -> FLOAT32;
            case "bfloat16", "bf16" -> BFLOAT16;
            default ->
                throw new IllegalArgumentException(
                        what + ": expected one of [auto, float32, bfloat16], found '" + s + "'");
        };
    }

    /** The storage type this resolves to, and why (the line printed at start). */
    public record Resolved(DataType type, String why) {
        public String line() {
            return "peft4j: model dtype " + (type == DataType.BFLOAT16 ? "bfloat16" : "float32") + " (" + why + ")";
        }
    }

    /**
     * @param checkpoint the checkpoint's dtype as config.json names it (float32, bfloat16, float16), or null
     * @param fastBf16 whether this CPU has bf16 dot-product instructions (AVX512_BF16 or AMX) and oneDNN runs
     */
    public Resolved resolve(String checkpoint, boolean fastBf16) {
        return switch (this) {
            case FLOAT32 -> new Resolved(DataType.FLOAT, "model.dtype = float32");
            case BFLOAT16 ->
                new Resolved(
                        DataType.BFLOAT16,
                        "model.dtype = bfloat16"
                                + (fastBf16 ? "" : "; this CPU has no bf16 instructions: slower, not wrong"));
            case AUTO -> {
                boolean halfCheckpoint = "bfloat16".equals(checkpoint) || "float16".equals(checkpoint);
                if (!halfCheckpoint) {
                    yield new Resolved(
                            DataType.FLOAT,
                            "auto: the checkpoint is "
                                    + (checkpoint == null ? "float32 (no dtype given)" : checkpoint));
                }
                yield fastBf16
                        ? new Resolved(
                                DataType.BFLOAT16,
                                "auto: a " + checkpoint + " checkpoint on a CPU with bf16" + " instructions")
                        : new Resolved(
                                DataType.FLOAT,
                                "auto: a " + checkpoint + " checkpoint, but this CPU has no bf16"
                                        + " instructions (AVX512_BF16 or AMX), so float32");
            }
        };
    }
}
