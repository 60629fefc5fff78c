package org.peft4j.adapters.core;

import java.lang.ref.Reference;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Inverted dropout with a mask drawn from a seed, element by element in row-major order: the same seed gives the same
 * mask, so backward draws it again instead of keeping a tokens x d_in mask per layer.
 */
final class Dropout {
    private Dropout() {}

    /**
     * {@code dst = src * mask / (1 - p)} (or {@code +=} with {@code accumulate}); an element is kept when its draw is
     * at least p. Both arrays whole, c-order, of one shape and type (FLOAT or DOUBLE).
     */
    static void apply(INDArray src, INDArray dst, double p, long seed, boolean accumulate) {
        if (src.length() != dst.length() || src.dataType() != dst.dataType() || !whole(src) || !whole(dst)) {
            throw new IllegalArgumentException("dropout needs two whole c-order arrays of one shape and type");
        }
        SplittableRandom rng = new SplittableRandom(seed);
        double keepScale = 1.0 / (1 - p);
        int n = Math.toIntExact(src.length());
        if (src.dataType() == DataType.DOUBLE) {
            DoubleBuffer a = src.data().asNioDouble();
            DoubleBuffer b = dst.data().asNioDouble();
            for (int i = 0; i < n; i++) {
                double v = rng.nextDouble() >= p ? a.get(i) * keepScale : 0;
                b.put(i, accumulate ? b.get(i) + v : v);
            }
            Reference.reachabilityFence(src); // the NIO views do not keep the arrays alive
            Reference.reachabilityFence(dst);
            return;
        }
        FloatBuffer a = src.data().asNioFloat();
        FloatBuffer b = dst.data().asNioFloat();
        float scale = (float) keepScale;
        for (int i = 0; i < n; i++) {
            float v = rng.nextDouble() >= p ? a.get(i) * scale : 0f;
            b.put(i, accumulate ? b.get(i) + v : v);
        }
        Reference.reachabilityFence(src);
        Reference.reachabilityFence(dst);
    }

    private static boolean whole(INDArray x) {
        return x.ordering() == 'c' && x.offset() == 0 && !x.isView();
    }
}
