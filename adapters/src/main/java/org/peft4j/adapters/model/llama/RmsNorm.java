package org.peft4j.adapters.model.llama;

import java.lang.ref.Reference;
import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.peft4j.adapters.core.Scratch;
import org.peft4j.adapters.linalg.Blas;
import org.peft4j.adapters.linalg.RowRanges;

/**
 * RMSNorm as HF LLaMA computes it: {@code y = g * x / sqrt(mean(x^2) + eps)}, row by row. The gain g is frozen, so
 * backward returns only dx: with xh = x * inv and u = dy * g, {@code dx = inv * (u - xh * mean(u * xh))}.
 *
 * <p>float32 arrays in host memory take one fused loop per row ({@link #fused}): as ND4J ops the same maths made six
 * passes over the rows forward and eight backward, each with its own temporaries. Double arrays (the gradient checks)
 * and device arrays keep the ND4J ops.
 */
final class RmsNorm {
    private final INDArray gain;
    private final double eps;
    private final Scratch scratch;
    private final Scratch shared;
    private final String role;
    /** The gain as a Java array for the fused loops, or null where they do not apply. */
    private final float[] g;

    private INDArray x;

    /** @param shared backward buffers shared across layers; {@code role} keeps this norm's input gradient apart */
    RmsNorm(INDArray gain, double eps, Scratch shared, String role) {
        this.gain = gain;
        this.eps = eps;
        this.scratch = new Scratch(gain.dataType());
        this.shared = shared;
        this.role = role;
        this.g = gain.dataType() == DataType.FLOAT ? gain.toFloatVector() : null;
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
        if (fused(x, y, inv)) {
            Fused.forward(x, g, inv, y, eps);
            return y;
        }
        x.mul(x, y);
        inv.assign(y.mean(1).reshape(n, 1)).addi(eps);
        Transforms.sqrt(inv, false).rdivi(1.0);
        return y.assign(x).muliColumnVector(inv).muliRowVector(gain);
    }

    INDArray backward(INDArray dy) {
        long n = x.rows();
        INDArray inv = scratch.get("inv", n, 1);
        INDArray dx = shared.get(role + ".dx", n, x.columns());
        if (fused(x, dy, dx)) {
            Fused.backward(x, dy, g, inv, dx);
            return dx;
        }
        INDArray xh = shared.get("norm.xh", n, x.columns());
        dx.assign(dy).muliRowVector(gain);
        xh.assign(x).muliColumnVector(inv);
        INDArray tmp = shared.get("norm.tmp", n, x.columns());
        INDArray m = dx.mul(xh, tmp).mean(1).reshape(n, 1);
        return dx.subi(xh.muliColumnVector(m)).muliColumnVector(inv);
    }

    /** Whether the fused loop applies: float32 host arrays, each whole and c-order. */
    private boolean fused(INDArray... arrays) {
        return g != null && Blas.wholeHostFloats(arrays);
    }

    /**
     * The fused float32 loops: each row is read into a Java array once, and the sums are kept in double. Rows are
     * independent, so they are split over the compute threads ({@link RowRanges}); the result does not depend on the
     * split.
     */
    static final class Fused {
        private Fused() {}

        static void forward(INDArray x, float[] g, INDArray inv, INDArray y, double eps) {
            int d = (int) x.columns();
            FloatBuffer xb = x.data().asNioFloat();
            FloatBuffer yb = y.data().asNioFloat();
            FloatBuffer ib = inv.data().asNioFloat();
            RowRanges.forEach((int) x.rows(), d, (from, to) -> {
                float[] row = new float[d];
                for (int r = from; r < to; r++) {
                    xb.get(r * d, row);
                    double s0 = 0;
                    double s1 = 0;
                    int i = 0;
                    for (; i + 1 < d; i += 2) {
                        s0 += row[i] * row[i];
                        s1 += row[i + 1] * row[i + 1];
                    }
                    for (; i < d; i++) {
                        s0 += row[i] * row[i];
                    }
                    float k = (float) (1.0 / Math.sqrt((float) ((s0 + s1) / d) + eps));
                    ib.put(r, k);
                    for (int j = 0; j < d; j++) {
                        row[j] = row[j] * k * g[j];
                    }
                    yb.put(r * d, row);
                }
            });
            // The NIO views do not keep the arrays alive; nor may the collector free them under the loop.
            Reference.reachabilityFence(x);
            Reference.reachabilityFence(y);
            Reference.reachabilityFence(inv);
        }

        static void backward(INDArray x, INDArray dy, float[] g, INDArray inv, INDArray dx) {
            int d = (int) x.columns();
            FloatBuffer xb = x.data().asNioFloat();
            FloatBuffer db = dy.data().asNioFloat();
            FloatBuffer ob = dx.data().asNioFloat();
            FloatBuffer ib = inv.data().asNioFloat();
            RowRanges.forEach((int) x.rows(), d, (from, to) -> {
                float[] xr = new float[d];
                float[] u = new float[d];
                for (int r = from; r < to; r++) {
                    xb.get(r * d, xr);
                    db.get(r * d, u);
                    float k = ib.get(r);
                    double s0 = 0;
                    double s1 = 0;
                    int i = 0;
                    for (; i + 1 < d; i += 2) {
                        u[i] *= g[i];
                        u[i + 1] *= g[i + 1];
                        s0 += u[i] * xr[i];
                        s1 += u[i + 1] * xr[i + 1];
                    }
                    for (; i < d; i++) {
                        u[i] *= g[i];
                        s0 += u[i] * xr[i];
                    }
                    // mean(u * xh) with xh = x * k, and dx = k (u - xh m) = k u - x (k^2 m)
                    float m = (float) ((s0 + s1) * k / d);
                    float c = k * k * m;
                    for (int j = 0; j < d; j++) {
                        u[j] = k * u[j] - xr[j] * c;
                    }
                    ob.put(r * d, u);
                }
            });
            Reference.reachabilityFence(x);
            Reference.reachabilityFence(dy);
            Reference.reachabilityFence(inv);
            Reference.reachabilityFence(dx);
        }
    }

    /** Bytes of this part's own work buffers (not the shared ones). */
    long bufferBytes() {
        return scratch.bytes();
    }
}
