package org.peft4j.adapters.model.llama;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Rotary position embeddings in Hugging Face LLaMA's "rotate half" convention: within each head the first and second
 * halves of the vector form the (x1, x2) pairs, {@code x' = x cos + rotate_half(x) sin} with
 * {@code rotate_half(x) = (-x2, x1)} and frequency {@code theta^(-2i/headDim)} for pair i.
 */
final class Rotary {
    private final int headDim;
    private final double[] invFreq;

    Rotary(int headDim, double theta) {
        this.headDim = headDim;
        this.invFreq = new double[headDim / 2];
        for (int i = 0; i < invFreq.length; i++) {
            invFreq[i] = 1.0 / Math.pow(theta, 2.0 * i / headDim);
        }
    }

    /**
     * cos and sin tables shaped (rows, length, 1, headDim/2) for the given positions (rows x length, row-major); they
     * broadcast over the heads of a (rows, length, heads, headDim) view.
     */
    INDArray[] tables(int[] positions, int rows, int length, DataType type) {
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
        long[] shape = {rows, length, 1, half};
        return new INDArray[] {Nd4j.create(c, shape, type), Nd4j.create(s, shape, type)};
    }

    /** Rotates x (rows*length x heads*headDim, c-order) in place. */
    void apply(INDArray x, int rows, int length, int heads, INDArray cos, INDArray sin) {
        rotate(x, rows, length, heads, cos, sin, false);
    }

    /** The backward pass: the transpose of the rotation is the rotation by minus the angle. */
    void applyBackward(INDArray dx, int rows, int length, int heads, INDArray cos, INDArray sin) {
        rotate(dx, rows, length, heads, cos, sin, true);
    }

    private void rotate(INDArray x, int rows, int length, int heads, INDArray cos, INDArray sin, boolean inverse) {
        int half = headDim / 2;
        INDArray x4 = x.reshape('c', rows, length, heads, headDim);
        INDArrayIndex all = NDArrayIndex.all();
        INDArray x1 = x4.get(all, all, all, NDArrayIndex.interval(0, half));
        INDArray x2 = x4.get(all, all, all, NDArrayIndex.interval(half, headDim));
        INDArray sx1 = x1.mul(sin);
        INDArray sx2 = x2.mul(sin);
        x1.muli(cos);
        x2.muli(cos);
        if (inverse) {
            x1.addi(sx2); // x1' = x1 cos + x2 sin
            x2.subi(sx1); // x2' = x2 cos - x1 sin
        } else {
            x1.subi(sx2); // x1' = x1 cos - x2 sin
            x2.addi(sx1); // x2' = x2 cos + x1 sin
        }
    }
}
