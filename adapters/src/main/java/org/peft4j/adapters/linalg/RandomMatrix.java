package org.peft4j.adapters.linalg;

import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Random matrices drawn from a {@link SplittableRandom}, not ND4J's global RNG, so that the same seed gives the same
 * values on every executor and in every run.
 */
public final class RandomMatrix {
    private RandomMatrix() {}

    /** Entries uniform in [-bound, bound). */
    public static INDArray uniform(DataType type, long rows, long cols, double bound, SplittableRandom rng) {
        double[] v = new double[Math.toIntExact(rows * cols)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (2 * rng.nextDouble() - 1) * bound;
        }
        return Nd4j.create(v, new long[] {rows, cols}, type);
    }

    /** Standard normal entries. */
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
