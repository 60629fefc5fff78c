package org.peft4j.adapters.core;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Adapters written as LoRA, the form PEFT, vLLM and TGI serve: per module {@code s dW = scale a b} with a (d_in x r)
 * and b (r x d_out) in this project's {@code y = x W} layout, scale = alpha / r (rsLoRA: alpha / sqrt(r)).
 *
 * @param rank and {@code alpha}: the defaults a module's own rank and alpha override (PEFT's rank_pattern and
 *     alpha_pattern)
 */
public record LoraForm(List<Module> modules, int rank, double alpha, boolean rsLora) {

    /** One adapted module, by its path in the model (e.g. {@code model.layers.3.self_attn.q_proj}). */
    public record Module(String path, INDArray a, INDArray b, double alpha) {
        public int rank() {
            return (int) a.columns();
        }
    }

    /** The factors of one adapter's update: s dW = a b exactly, relative to the base weight as it was loaded. */
    public record Factors(INDArray a, INDArray b) {}

    public double scaling(Module m) {
        return rsLora ? m.alpha() / Math.sqrt(m.rank()) : m.alpha() / m.rank();
    }
}
