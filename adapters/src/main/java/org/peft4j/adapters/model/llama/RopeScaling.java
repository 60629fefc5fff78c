package org.peft4j.adapters.model.llama;

import org.peft4j.adapters.core.KeyedOption;

/**
 * Rotary position frequencies as transformers computes them ({@code modeling_rope_utils.py}), for the rope types
 * implemented exactly: {@code default}, {@code linear} (frequencies divided by {@code factor}) and {@code llama3}
 * (LLaMA 3.1/3.2: low frequencies divided by {@code factor}, high ones kept, a smooth blend between). Other types
 * (yarn, dynamic, longrope) are refused when the config is read.
 *
 * @param factor linear and llama3 scaling factor (1 for default)
 * @param originalMaxPositionEmbeddings llama3's pre-training context length
 */
public record RopeScaling(
        Type type,
        double theta,
        double factor,
        double lowFreqFactor,
        double highFreqFactor,
        int originalMaxPositionEmbeddings) {

    /** The rope types implemented, by their {@code rope_type} key. */
    public enum Type implements KeyedOption {
        DEFAULT,
        LINEAR,
        LLAMA3;

        @Override
        public String key() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** Plain rotary embeddings with base {@code theta}. */
    public static RopeScaling plain(double theta) {
        return new RopeScaling(Type.DEFAULT, theta, 1, 0, 0, 0);
    }

    /** theta^(-2i/headDim) for pair i, then the type's scaling. */
    public double[] inverseFrequencies(int headDim) {
        double[] inv = new double[headDim / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = 1.0 / Math.pow(theta, 2.0 * i / headDim);
            inv[i] = switch (type) {
                case DEFAULT -> inv[i];
                case LINEAR -> inv[i] / factor;
                case LLAMA3 -> llama3(inv[i]);
            };
        }
        return inv;
    }

    /** transformers' {@code _compute_llama3_parameters}, one frequency at a time. */
    private double llama3(double inv) {
        double lowFreqWavelen = originalMaxPositionEmbeddings / lowFreqFactor;
        double highFreqWavelen = originalMaxPositionEmbeddings / highFreqFactor;
        double wavelen = 2 * Math.PI / inv;
        if (wavelen < highFreqWavelen) {
            return inv;
        }
        if (wavelen > lowFreqWavelen) {
            return inv / factor;
        }
        double smooth = (originalMaxPositionEmbeddings / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        return (1 - smooth) * inv / factor + smooth * inv;
    }
}
