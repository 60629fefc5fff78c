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
    private final Scratch shared;
    private final String role;
    private INDArray x;

    /** @param shared backward buffers shared across layers; {@code role} keeps this norm's input gradient apart */
    RmsNorm(INDArray gain, double eps, Scratch shared, String role) {
        this.gain = gain;
        this.eps = eps;
        this.scratch = new Scratch(gain.dataType());
        this.shared = shared;
        this.role = role;
    }

    /**
     * x must stay untouched until backward. The result lives in this norm's own buffer when {@code keepOutput} (an
     * adapter downstream will read it in backward), else in a buffer shared across layers: backward needs only x.
     */
    INDArray forward(INDArray x, boolean keepOutput) {
        this.x = x;
        long n = x.rows();
        INDArray y = (keepOutput ? scratch : shared).get(keepOutput ? "y" : role + ".y", n, x.columns());
        INDArray inv = scratch.get("inv", n, 1);
        x.mul(x, y);
        inv.assign(y.mean(1).reshape(n, 1)).addi(eps);
        Transforms.sqrt(inv, false).rdivi(1.0);
        return y.assign(x).muliColumnVector(inv).muliRowVector(gain);
    }

    INDArray backward(INDArray dy) {
        long n = x.rows();
        INDArray inv = scratch.get("inv", n, 1);
        INDArray dx = shared.get(role + ".dx", n, x.columns());
        INDArray xh = shared.get("norm.xh", n, x.columns());
        dx.assign(dy).muliRowVector(gain);
        xh.assign(x).muliColumnVector(inv);
        INDArray tmp = shared.get("norm.tmp", n, x.columns());
        INDArray m = dx.mul(xh, tmp).mean(1).reshape(n, 1);
        return dx.subi(xh.muliColumnVector(m)).muliColumnVector(inv);
    }
}
