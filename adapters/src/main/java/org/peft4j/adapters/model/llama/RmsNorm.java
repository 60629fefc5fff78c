package org.peft4j.adapters.model.llama;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.peft4j.adapters.core.Scratch;

/**
 * RMSNorm as HF LLaMA computes it: {@code y = g * x / sqrt(mean(x^2) + eps)}, row by row. The gain g is frozen, so
 * backward returns only dx: with xh = x * inv and u = dy * g, {@code dx = inv * (u - xh * mean(u * xh))}.
 */
final class RmsNorm {
    private final INDArray gain;
    private final double eps;
    private final Scratch scratch;
    private INDArray x;

    RmsNorm(INDArray gain, double eps) {
        this.gain = gain;
        this.eps = eps;
        this.scratch = new Scratch(gain.dataType());
    }

    /** The result is owned by this norm and valid until its next forward; x must stay untouched until backward. */
    INDArray forward(INDArray x) {
        this.x = x;
        long n = x.rows();
        INDArray y = scratch.get("y", n, x.columns());
        INDArray inv = scratch.get("inv", n, 1);
        x.mul(x, y);
        inv.assign(y.mean(1).reshape(n, 1)).addi(eps);
        Transforms.sqrt(inv, false).rdivi(1.0);
        return y.assign(x).muliColumnVector(inv).muliRowVector(gain);
    }

    INDArray backward(INDArray dy) {
        long n = x.rows();
        INDArray inv = scratch.get("inv", n, 1);
        INDArray dx = scratch.get("dx", n, x.columns());
        INDArray xh = scratch.get("xh", n, x.columns());
        dx.assign(dy).muliRowVector(gain);
        xh.assign(x).muliColumnVector(inv);
        INDArray tmp = scratch.get("tmp", n, x.columns());
        INDArray m = dx.mul(xh, tmp).mean(1).reshape(n, 1);
        return dx.subi(xh.muliColumnVector(m)).muliColumnVector(inv);
    }
}
