package org.peft4j.adapters.model.llama;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.core.Scratch;
import org.peft4j.adapters.core.TargetLinear;
import org.peft4j.adapters.linalg.Swish;

/**
 * LLaMA's MLP: {@code down(silu(gate(x)) * up(x))}, silu(g) = g sigmoid(g) ({@link Swish}). Keeps g and u (the
 * linears' own output buffers) for backward, recomputing silu(g): {@code du = da * silu(g)},
 * {@code dg = da * u * silu'(g)}. The product fed to down_proj is kept only if down_proj's adapter
 * reads its input in backward.
 */
final class SwiGluMlp {
    private final TargetLinear gate;
    private final TargetLinear up;
    private final TargetLinear down;
    private final Scratch scratch;
    private final Scratch shared;
    private INDArray g;
    private INDArray u;

    SwiGluMlp(TargetLinear gate, TargetLinear up, TargetLinear down, Scratch shared) {
        this.gate = gate;
        this.up = up;
        this.down = down;
        this.scratch = new Scratch(gate.computeType());
        this.shared = shared;
    }

    /** Whether gate or up has an adapter that reads its input h in backward (then h must be kept). */
    boolean needsInputKept() {
        return gate.needsInputKept() || up.needsInputKept();
    }

    INDArray forward(INDArray h, boolean train) {
        g = gate.forward(h, train);
        u = up.forward(h, train);
        boolean keep = train && down.needsInputKept();
        INDArray act = (keep ? scratch : shared).get(keep ? "act" : "mlp.act", g.rows(), g.columns());
        Swish.forward(g, act);
        act.muli(u);
        return down.forward(act, train);
    }

    INDArray backward(INDArray dOut, boolean needDx) {
        INDArray da = down.backward(dOut, true);
        INDArray du = shared.get("mlp.du", g.rows(), g.columns());
        INDArray dg = shared.get("mlp.dg", g.rows(), g.columns());
        Swish.forward(g, du); // recomputed: cheaper than keeping (tokens x ffn) per layer
        du.muli(da); // d/du of swish(g) u
        u.mul(da, dg);
        Swish.backward(g, dg, shared.get("mlp.tmp", g.rows(), g.columns())); // d/dg: swish'(g) u da
        INDArray dh = gate.backward(dg, needDx);
        INDArray dhu = up.backward(du, needDx);
        return needDx ? dh.addi(dhu) : null;
    }

    /** Bytes of this part's own work buffers (not the shared ones). */
    long bufferBytes() {
        return scratch.bytes();
    }
}
