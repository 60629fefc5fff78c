package org.peft4j.adapters.core;

import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Deterministic initialisers. They draw from a {@link SplittableRandom} seeded per module, not ND4J's global
 * RNG, so the same seed gives the same adapters on every executor and in every run.
 */
public final class Init {
    private Init() {}

    /** A generator for one module: the run seed mixed with the module path. */
    public static SplittableRandom forModule(long seed, String path) {
        return new SplittableRandom(seed * 0x9E3779B97F4A7C15L + path.hashCode());
    }

    public static INDArray uniform(DataType type, long rows, long cols, double bound, SplittableRandom rng) {
        double[] v = new double[Math.toIntExact(rows * cols)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (2 * rng.nextDouble() - 1) * bound;
        }
        return Nd4j.create(v, new long[] {rows, cols}, type);
    }

    /**
     * Kaiming-uniform as PyTorch's {@code nn.Linear} and PEFT's LoRA A use it ({@code a = sqrt(5)}):
     * bound = 1 / sqrt(fanIn).
     */
    public static INDArray kaimingUniform(DataType type, long rows, long cols, long fanIn, SplittableRandom rng) {
        return uniform(type, rows, cols, 1.0 / Math.sqrt(fanIn), rng);
    }

    public static INDArray gaussian(DataType type, long rows, long cols, SplittableRandom rng) {
        double[] v = new double[Math.toIntExact(rows * cols)];
        for (int i = 0; i < v.length; i += 2) {
            // Box-Muller: two normals per pair of uniforms.
            double u1 = 1.0 - rng.nextDouble();
            double u2 = rng.nextDouble();
            double rad = Math.sqrt(-2 * Math.log(u1));
            v[i] = rad * Math.cos(2 * Math.PI * u2);
            if (i + 1 < v.length) {
                v[i + 1] = rad * Math.sin(2 * Math.PI * u2);
            }
        }
        return Nd4j.create(v, new long[] {rows, cols}, type);
    }
}
