package org.peft4j.adapters.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.peft4j.adapters.core.AdapterInjector;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.core.AdapterSpec;
import org.peft4j.adapters.core.TargetLinear;
import org.peft4j.adapters.linalg.AlignedArrays;
import org.peft4j.adapters.linalg.Gemm;
import org.peft4j.adapters.registry.AdapterMethods;

/**
 * One target linear (d x d, fp32) trained for a step per adapter: forward + backward time, bytes kept for
 * backward, next to the fp32 GEMM rate measured in the same run, so that figures are ratios on one machine.
 */
public final class AdapterBench {
    private AdapterBench() {}

    /**
     * @param flops model FLOPs of the step (forward 2 T d^2 plus input gradient 2 T d^2; adapter FLOPs excluded, as
     *     MFU conventions do)
     */
    public record Result(String name, double msPerStep, long keptBytes, long trainable, double flops) {
        public double gflops() {
            return flops / msPerStep / 1e6;
        }
    }

    /**
     * fp32 GEMM GFLOP/s into a preallocated output for (m x k)(k x n), best of {@code reps}: the floor the layer's
     * own products could reach, measured at their shape.
     */
    public static double gemmRate(int m, int k, int n, int reps) {
        return new GemmProbe(m, k, n, DataType.FLOAT).rate(reps);
    }

    /**
     * A product's operands allocated once, so that its rate can be measured again and again in one run (between
     * training steps) without allocating there; they stay resident meanwhile, and count in the run's peak RSS.
     * Inputs of the given type (FLOAT, or BFLOAT16 into an fp32 result), on 64-byte aligned arrays as the step's own
     * operands are ({@link AlignedArrays}).
     */
    public static final class GemmProbe {
        private final INDArray a;
        private final INDArray b;
        private final INDArray c;

        public GemmProbe(int m, int k, int n, DataType type) {
            a = AlignedArrays.create(type, m, k).assign(Nd4j.rand(DataType.FLOAT, m, k));
            b = AlignedArrays.create(type, k, n).assign(Nd4j.rand(DataType.FLOAT, k, n));
            c = AlignedArrays.create(DataType.FLOAT, m, n);
            Gemm.set(c, a, false, b, false); // warm-up: the primitive is made here
        }

        /** GFLOP/s of the best of {@code reps} products. */
        public double rate(int reps) {
            double best = Double.MAX_VALUE;
            for (int i = 0; i < reps; i++) {
                long t = System.nanoTime();
                Gemm.set(c, a, false, b, false);
                best = Math.min(best, (System.nanoTime() - t) / 1e9);
            }
            return 2.0 * a.rows() * a.columns() * b.columns() / best / 1e9;
        }
    }

    public static List<Result> run(int d, int rank, int tokens, int reps) {
        INDArray x = Nd4j.rand(DataType.FLOAT, tokens, d).subi(0.5);
        INDArray dy = Nd4j.rand(DataType.FLOAT, tokens, d).subi(0.5);
        double flops = 4.0 * tokens * d * d;
        List<Result> out = new ArrayList<>();
        out.add(measure("base (no adapter)", null, null, x, dy, d, reps, flops));
        for (String method : List.of("lora", "lamda", "lamda-frozen-b", "neat")) {
            String m = method.equals("lamda-frozen-b") ? "lamda" : method;
            AdapterSpec spec = AdapterMethods.spec(m, rank, null, List.of("q_proj"), 0, Map.of());
            out.add(measure(method, spec, method.equals("lamda-frozen-b") ? 1L : null, x, dy, d, reps, flops));
        }
        return out;
    }

    private static Result measure(
            String name, AdapterSpec spec, Long freezeAtStep, INDArray x, INDArray dy, int d, int reps, double flops) {
        INDArray w = Nd4j.rand(DataType.FLOAT, d, d).subi(0.5).muli(1.0 / Math.sqrt(d));
        TargetLinear layer = new TargetLinear("model.layers.0.self_attn.q_proj", w, null);
        AdapterSet set = spec == null ? null : AdapterInjector.inject(List.of(layer), spec);
        if (set != null && freezeAtStep != null) {
            set.setTotalSteps(1); // t_f = 1: every row of B frozen from step 1
            set.onStep(freezeAtStep);
        }
        layer.forward(x, true);
        layer.backward(dy, true);
        double best = Double.MAX_VALUE;
        long kept = 0;
        for (int i = 0; i < reps; i++) {
            long t = System.nanoTime();
            layer.forward(x, true);
            kept = set == null ? 0 : set.keptBytes();
            layer.backward(dy, true);
            best = Math.min(best, (System.nanoTime() - t) / 1e6);
        }
        return new Result(name, best, kept, set == null ? 0 : set.trainableCount(), flops);
    }
}
