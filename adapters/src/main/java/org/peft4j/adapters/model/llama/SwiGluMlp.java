package org.peft4j.adapters.model.llama;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Sigmoid;
import org.nd4j.linalg.factory.Nd4j;
import org.peft4j.adapters.core.Scratch;
import org.peft4j.adapters.core.TargetLinear;

/**
 * LLaMA's MLP: {@code down(silu(gate(x)) * up(x))}, silu(g) = g sigmoid(g). Keeps g and u (the linears' own
 * output buffers) for backward, recomputing sig = sigmoid(g): {@code du = da * silu(g)},
 * {@code dg = da * u * sig * (1 + g (1 - sig))}. The product fed to down_proj is kept only if down_proj's adapter
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
        INDArray sig = shared.get("mlp.sig", g.rows(), g.columns());
        boolean keep = train && down.needsInputKept();
        INDArray act = (keep ? scratch : shared).get(keep ? "act" : "mlp.act", g.rows(), g.columns());
        Nd4j.exec(new Sigmoid(g, sig));
        sig.mul(g, act).muli(u);
        return down.forward(act, train);
    }

    INDArray backward(INDArray dOut, boolean needDx) {
        INDArray da = down.backward(dOut, true);
        INDArray sig = shared.get("mlp.sig", g.rows(), g.columns());
        Nd4j.exec(new Sigmoid(g, sig)); // recomputed: cheaper than keeping (tokens x ffn) per layer
        INDArray du = shared.get("mlp.du", g.rows(), g.columns());
        INDArray dg = shared.get("mlp.dg", g.rows(), g.columns());
        g.mul(sig, du).muli(da);
        sig.rsub(1.0, dg).muli(g).addi(1.0).muli(sig).muli(u).muli(da);
        INDArray dh = gate.backward(dg, needDx);
        INDArray dhu = up.backward(du, needDx);
        return needDx ? dh.addi(dhu) : null;
    }
}
