package org.peft4j.adapters.model.llama;

import java.lang.ref.Reference;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.linalg.RowRanges;

/**
 * Rotary position embeddings in Hugging Face LLaMA's "rotate half" convention: within each head the first and second
 * halves of the vector form the (x1, x2) pairs, {@code x' = x cos + rotate_half(x) sin} with
 * {@code rotate_half(x) = (-x2, x1)} and frequency {@code theta^(-2i/headDim)} for pair i, scaled as the config's
 * rope type says ({@link RopeScaling}).
 *
 * <p>The rotation is a plain loop over the array's native buffer: as ND4J element-wise ops on strided half-head
 * views it allocated four temporaries per call and cost more than the attention GEMMs. In float32 each token's row
 * is read into a Java array once, and the tokens are split over the compute threads ({@link RowRanges}).
 */
final class Rotary {
    private final int headDim;
    private final double[] invFreq;

    /** cos and sin per (row or shared, position, pair): {@code rows} is 1 when every row has positions 0..len-1. */
    record Tables(int rows, int length, double[] cos, double[] sin) {}

    Rotary(int headDim, RopeScaling rope) {
        this.headDim = headDim;
        this.invFreq = rope.inverseFrequencies(headDim);
    }

    /** Tables for the given positions (rows x length, row-major). */
    Tables tables(int[] positions, int rows, int length) {
        int half = headDim / 2;
        double[] c = new double[positions.length * half];
        double[] s = new double[positions.length * half];
        for (int p = 0; p < positions.length; p++) {
            for (int i = 0; i < half; i++) {
                double a = positions[p] * invFreq[i];
                c[p * half + i] = Math.cos(a);
                s[p * half + i] = Math.sin(a);
            }
        }
        return new Tables(rows, length, c, s);
    }

    /** Rotates x (rows*length x heads*headDim, c-order, offset 0) in place. */
    void apply(INDArray x, int rows, int length, int heads, Tables t) {
        rotate(x, rows, length, heads, t, 1);
    }

    /** The backward pass: the transpose of the rotation is the rotation by minus the angle. */
    void applyBackward(INDArray dx, int rows, int length, int heads, Tables t) {
        rotate(dx, rows, length, heads, t, -1);
    }

    private void rotate(INDArray x, int rows, int length, int heads, Tables t, int sign) {
        if (x.offset() != 0 || x.ordering() != 'c' || x.length() != (long) rows * length * heads * headDim) {
            throw new IllegalArgumentException("rotary needs a whole c-order (tokens x heads*headDim) array");
        }
        int half = headDim / 2;
        if (!org.peft4j.adapters.linalg.Blas.host()) {
            rotateOnDevice(x, rows, length, heads, t, sign);
            return;
        }
        if (x.dataType() == DataType.DOUBLE) {
            DoubleBuffer b = x.data().asNioDouble();
            for (int r = 0; r < rows; r++) {
                for (int p = 0; p < length; p++) {
                    int table = ((t.rows() == 1 ? 0 : r) * t.length() + p) * half;
                    int base = (r * length + p) * heads * headDim;
                    for (int h = 0; h < heads; h++) {
                        int at = base + h * headDim;
                        for (int i = 0; i < half; i++) {
                            double c = t.cos()[table + i];
                            double s = sign * t.sin()[table + i];
                            double x1 = b.get(at + i);
                            double x2 = b.get(at + half + i);
                            b.put(at + i, x1 * c - x2 * s);
                            b.put(at + half + i, x2 * c + x1 * s);
                        }
                    }
                }
            }
            Reference.reachabilityFence(x); // the NIO view does not keep x alive
            return;
        }
        FloatBuffer b = x.data().asNioFloat();
        int width = heads * headDim;
        // One range of (sequence, position) rows per compute thread: each rotates its own tokens' heads.
        RowRanges.forEach(rows * length, width, (from, to) -> {
            float[] cos = new float[half];
            float[] sin = new float[half];
            float[] row = new float[width];
            for (int token = from; token < to; token++) {
                int r = token / length;
                int p = token % length;
                int table = ((t.rows() == 1 ? 0 : r) * t.length() + p) * half;
                for (int i = 0; i < half; i++) {
                    cos[i] = (float) t.cos()[table + i];
                    sin[i] = (float) (sign * t.sin()[table + i]);
                }
                b.get(token * width, row);
                for (int h = 0; h < heads; h++) {
                    int at = h * headDim;
                    for (int i = 0; i < half; i++) {
                        float x1 = row[at + i];
                        float x2 = row[at + half + i];
                        row[at + i] = x1 * cos[i] - x2 * sin[i];
                        row[at + half + i] = x2 * cos[i] + x1 * sin[i];
                    }
                }
                b.put(token * width, row);
            }
        });
        Reference.reachabilityFence(x);
    }

    /** The same rotation as ND4J element-wise ops on half-head views, for device (GPU) arrays. */
    private void rotateOnDevice(INDArray x, int rows, int length, int heads, Tables t, int sign) {
        int half = headDim / 2;
        long[] shape = {t.rows(), t.length(), 1, half};
        INDArray cos = org.nd4j.linalg.factory.Nd4j.create(t.cos(), shape, x.dataType());
        INDArray sin = org.nd4j.linalg.factory.Nd4j.create(t.sin(), shape, x.dataType())
                .muli(sign);
        INDArray x4 = x.reshape('c', rows, length, heads, headDim);
        var all = org.nd4j.linalg.indexing.NDArrayIndex.all();
        INDArray x1 = x4.get(all, all, all, org.nd4j.linalg.indexing.NDArrayIndex.interval(0, half));
        INDArray x2 = x4.get(all, all, all, org.nd4j.linalg.indexing.NDArrayIndex.interval(half, headDim));
        INDArray sx1 = x1.mul(sin);
        INDArray sx2 = x2.mul(sin);
        x1.muli(cos).subi(sx2);
        x2.muli(cos).addi(sx1);
    }
}
