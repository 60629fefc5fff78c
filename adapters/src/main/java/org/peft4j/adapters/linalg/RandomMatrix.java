package org.peft4j.adapters.linalg;

import java.util.SplittableRandom;
import org.bytedeco.javacpp.FloatPointer;
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
        int n = Math.toIntExact(rows * cols);
        if (type != DataType.FLOAT) {
            double[] v = new double[n];
            fill(v, 0, n, rng);
            return Nd4j.create(v, new long[] {rows, cols}, type);
        }
        // FLOAT: the same values (the doubles rounded to float), written chunk by chunk straight into the array,
        // so a large matrix leaves no heap garbage of 8 bytes per entry behind.
        INDArray out = Nd4j.create(DataType.FLOAT, rows, cols);
        FloatPointer p = new FloatPointer(out.data().addressPointer());
        double[] chunk = new double[1 << 16];
        float[] f = new float[chunk.length];
        for (int start = 0; start < n; start += chunk.length) {
            int len = Math.min(chunk.length, n - start);
            fill(chunk, 0, len, rng);
            for (int i = 0; i < len; i++) {
                f[i] = (float) chunk[i];
            }
            p.position(start).put(f, 0, len);
        }
        return out;
    }

    /** Box-Muller: two normals per pair of uniforms (an odd length draws the pair and drops its second). */
    private static void fill(double[] v, int from, int to, SplittableRandom rng) {
        for (int i = from; i < to; i += 2) {
            double u1 = 1.0 - rng.nextDouble();
            double u2 = rng.nextDouble();
            double rad = Math.sqrt(-2 * Math.log(u1));
            v[i] = rad * Math.cos(2 * Math.PI * u2);
            if (i + 1 < to) {
                v[i + 1] = rad * Math.sin(2 * Math.PI * u2);
            }
        }
    }
}
