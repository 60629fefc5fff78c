package org.peft4j.adapters.linalg;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@code out = alpha * op(a) op(b) + beta * out} into a preallocated output. {@code Nd4j.gemm} into a
 * preallocated array ran 2-4x faster than {@code mmul}, which allocates its result (FINDINGS.md).
 */
public final class Gemm {
    private Gemm() {}

    public static INDArray into(INDArray out, INDArray a, boolean transA, INDArray b, boolean transB,
                                double alpha, double beta) {
        return Nd4j.gemm(a, b, out, transA, transB, alpha, beta);
    }

    /** {@code out = op(a) op(b)}. */
    public static INDArray set(INDArray out, INDArray a, boolean transA, INDArray b, boolean transB) {
        return into(out, a, transA, b, transB, 1.0, 0.0);
    }

    /** {@code out += alpha * op(a) op(b)}. */
    public static INDArray add(INDArray out, INDArray a, boolean transA, INDArray b, boolean transB, double alpha) {
        return into(out, a, transA, b, transB, alpha, 1.0);
    }
}
