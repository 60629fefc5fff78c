package org.peft4j.adapters.lora;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.peft4j.adapters.core.AdapterParam;
import org.peft4j.adapters.core.BaseAdapter;
import org.peft4j.adapters.core.LoraForm;
import org.peft4j.adapters.linalg.Gemm;

/**
 * LoRA (Hu et al. 2021, arXiv 2106.09685, section 4.1): {@code y += s (x A) B}, A (d_in x r) Kaiming-uniform,
 * B (r x d_out) zero, s = alpha / r (or alpha / sqrt(r) with rsLoRA). Both factors train.
 *
 * <p>Backward needs x itself (for dA = x^T g B^T), which is why LoRA keeps a tokens x d_in activation per target
 * where LaMDA keeps only tokens x r.
 */
public final class LoraAdapter extends BaseAdapter {
    private final AdapterParam a;
    private final AdapterParam b;
    private final AdapterParam residual;
    private final double alpha;
    private final AdapterParam a0;
    private final AdapterParam b0;
    private INDArray keptX;

    public LoraAdapter(INDArray aInit, INDArray bInit, double alpha, LoraOptions options) {
        super(
                (int) aInit.rows(),
                (int) bInit.columns(),
                (int) aInit.columns(),
                options.rsLora() ? alpha / Math.sqrt(aInit.columns()) : alpha / aInit.columns(),
                aInit.dataType());
        this.alpha = alpha;
        this.a = AdapterParam.trainable("lora_A", aInit);
        this.b = AdapterParam.trainable("lora_B", bInit);
        if (options.productAggregation()) {
            // Never trained (all rows frozen) but not "always frozen": the driver updates it every round and it
            // travels with the adapter state.
            residual = AdapterParam.trainable(
                    "lora_residual", Nd4j.zeros(aInit.dataType(), aInit.rows(), bInit.columns()));
            residual.setFrozenRows(residual.rows());
        } else {
            residual = null;
        }
        if (options.init() == LoraOptions.Init.PISSA) {
            // PiSSA: the initial factors' product s A0 B0 is taken out of W0 on attach (frozen, like LaMDA's residual).
            a0 = AdapterParam.frozen("lora_pissa_A0", aInit.dup());
            b0 = AdapterParam.frozen("lora_pissa_B0", bInit.dup());
        } else {
            a0 = null;
            b0 = null;
        }
    }

    @Override
    public void onAttach(INDArray w0) {
        if (a0 != null) {
            Gemm.add(w0, a0.value(), false, b0.value(), false, -scaling);
        }
    }

    @Override
    public void onDetach(INDArray w0) {
        if (a0 != null) {
            Gemm.add(w0, a0.value(), false, b0.value(), false, scaling);
        }
    }

    /** The dense residual of product aggregation, or null. */
    public AdapterParam residual() {
        return residual;
    }

    /** The scaling's numerator (per module: PEFT's alpha_pattern may set it). */
    public double alpha() {
        return alpha;
    }

    public AdapterParam a() {
        return a;
    }

    public AdapterParam b() {
        return b;
    }

    @Override
    public List<AdapterParam> params() {
        List<AdapterParam> ps = new java.util.ArrayList<>(List.of(a, b));
        if (residual != null) {
            ps.add(residual);
        }
        if (a0 != null) {
            ps.addAll(List.of(a0, b0));
        }
        return ps;
    }

    @Override
    public void forward(INDArray x, INDArray y, boolean train) {
        INDArray u = scratch.get("u", x.rows(), rank());
        Gemm.set(u, x, false, a.value(), false);
        Gemm.add(y, u, false, b.value(), false, scaling);
        if (residual != null) {
            Gemm.add(y, x, false, residual.value(), false, 1.0);
        }
        keptX = train ? x : null;
    }

    @Override
    public void backward(INDArray dy, INDArray dx) {
        if (keptX == null) {
            throw new IllegalStateException("LoRA backward without a training forward");
        }
        INDArray u = scratch.get("u", dy.rows(), rank());
        // dB += s u^T dy ; gu = s dy B^T ; dA += x^T gu ; dx += gu A^T
        Gemm.add(b.grad(), u, true, dy, false, scaling);
        INDArray gu = scratch.get("gu", dy.rows(), rank());
        Gemm.into(gu, dy, false, b.value(), true, scaling, 0.0);
        Gemm.add(a.grad(), keptX, true, gu, false, 1.0);
        if (dx != null) {
            Gemm.add(dx, gu, false, a.value(), true, 1.0);
            if (residual != null) {
                Gemm.add(dx, dy, false, residual.value(), true, 1.0);
            }
        }
        keptX = null;
    }

    @Override
    public INDArray scaledDeltaWeight() {
        INDArray d = a.value().mmul(b.value()).muli(scaling);
        return residual == null ? d : d.addi(residual.value());
    }

    @Override
    public LoraForm.Factors loraFactors() {
        if (residual != null) {
            throw new IllegalArgumentException("a LoRA trained with aggregation = product adds a dense d_in x d_out"
                    + " residual (lora_residual) to s A B: not a rank-r update, so it has no exact LoRA form");
        }
        if (a0 == null) {
            return new LoraForm.Factors(a.value().dup(), b.value().mul(scaling));
        }
        // PiSSA: s (A B - A0 B0) relative to the original W0, a product of rank 2r: [A A0] [s B; -s B0].
        return new LoraForm.Factors(
                Nd4j.hstack(a.value(), a0.value()),
                Nd4j.vstack(b.value().mul(scaling), b0.value().mul(-scaling)));
    }

    @Override
    public long keptBytes() {
        long width = a.value().dataType().width();
        return keptX == null ? 0 : keptX.length() * width + keptX.rows() * rank() * width;
    }
}
