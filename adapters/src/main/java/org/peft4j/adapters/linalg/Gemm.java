package org.peft4j.adapters.linalg;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@code out = alpha * op(a) op(b) + beta * out} into a preallocated output. {@code Nd4j.gemm} into a
 * preallocated array ran 2-4x faster than {@code mmul}, which allocates its result (FINDINGS.md).
 */
public final class Gemm {
    private Gemm() {}

    public static INDArray into(
            INDArray out, INDArray a, boolean transA, INDArray b, boolean transB, double alpha, double beta) {
        if (out.dataType() == DataType.BFLOAT16) {
            // A bf16 weight changed in place (a residual taken out of W0): computed in fp32, rounded once. The fp32
            // copy is freed at once: left to the collector, LaMDA's svd-residual init left one per target behind
            // (270 MB at the bench shape, still resident in the training steps).
            INDArray f = out.castTo(DataType.FLOAT);
            try {
                into(f, a, transA, b, transB, alpha, beta);
                Bf16.round(f, out);
            } finally {
                f.close();
            }
            return out;
        }
        boolean bf16 = a.dataType() == DataType.BFLOAT16 || b.dataType() == DataType.BFLOAT16;
        if (bf16 && a.dataType() != b.dataType()) {
            // A bf16 weight times an fp32 adapter tensor: the weight's exact fp32 values, so the adapter's maths
            // stays fp32 (the hot base products round their fp32 input to bf16 on purpose, in TargetLinear).
            INDArray fa = a.dataType() == DataType.BFLOAT16 ? a.castTo(DataType.FLOAT) : a;
            INDArray fb = b.dataType() == DataType.BFLOAT16 ? b.castTo(DataType.FLOAT) : b;
            try {
                return into(out, fa, transA, fb, transB, alpha, beta);
            } finally {
                (fa != a ? fa : fb).close(); // the one widened copy
            }
        }
        if (whole(out)
                && whole(a)
                && whole(b)
                && a.dataType() == b.dataType()
                && (a.dataType() == out.dataType() || (bf16 && out.dataType() == DataType.FLOAT))) {
            // Straight to OpenBLAS: measured ~10% faster than Nd4j.gemm's op dispatch at layer shapes.
            int m = (int) (transA ? a.columns() : a.rows());
            int k = (int) (transA ? a.rows() : a.columns());
            int n = (int) (transB ? b.rows() : b.columns());
            if (out.rows() != m || out.columns() != n || (transB ? b.columns() : b.rows()) != k) {
                throw new IllegalArgumentException("gemm shapes: op(a) " + m + " x " + k + ", op(b) "
                        + (transB ? b.columns() : b.rows()) + " x " + n + ", out " + out.rows() + " x "
                        + out.columns());
            }
            Blas.gemm(
                    transA,
                    transB,
                    m,
                    n,
                    k,
                    alpha,
                    new Blas.Block(a, 0, (int) a.columns()),
                    new Blas.Block(b, 0, (int) b.columns()),
                    beta,
                    new Blas.Block(out, 0, (int) out.columns()));
            return out;
        }
        return Nd4j.gemm(a, b, out, transA, transB, alpha, beta);
    }

    /** A whole c-order rank-2 float/double/bf16 array: what {@link Blas} can address directly. */
    private static boolean whole(INDArray x) {
        return x.rank() == 2
                && x.ordering() == 'c'
                && !x.isView()
                && x.offset() == 0
                && (x.dataType() == DataType.FLOAT
                        || x.dataType() == DataType.DOUBLE
                        || x.dataType() == DataType.BFLOAT16)
                && x.stride(0) == x.columns()
                && x.stride(1) == 1;
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
