package org.peft4j.adapters.linalg;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Row-major GEMM on sub-matrices addressed by element offset and leading dimension, straight into OpenBLAS (the
 * library ND4J itself links). Attention multiplies one head at a time: a head is a column block of a tokens-first
 * (tokens x heads*headDim) matrix, which this reaches with no copy and no view object, where {@code Nd4j.gemm} on
 * views measured several times slower than the arithmetic.
 *
 * <p>All three arrays must be c-order and of one floating type (FLOAT or DOUBLE).
 */
public final class Blas {
    private Blas() {}

    /** A sub-matrix of a c-order array: element offset from the array's start and row stride. */
    public record Block(INDArray base, long offset, int ld) {}

    private static volatile boolean host =
            org.nd4j.linalg.factory.Nd4j.getEnvironment().isCPU();

    /** Whether arrays live in host memory that OpenBLAS can read (nd4j-native); false on nd4j-cuda. */
    public static boolean host() {
        return host;
    }

    /**
     * Forces the device path (strided views through ND4J) on a CPU build: how the GPU code path is tested on
     * machines without a GPU. Not for production use.
     */
    public static void useDevicePathForTesting(boolean device) {
        host = !device && org.nd4j.linalg.factory.Nd4j.getEnvironment().isCPU();
    }

    /** {@code c = alpha op(a) op(b) + beta c}, op(a) m x k, op(b) k x n. */
    public static void gemm(
            boolean transA, boolean transB, int m, int n, int k, double alpha, Block a, Block b, double beta, Block c) {
        if (!host) {
            // GPU backend: the same sub-matrices as strided views, multiplied by ND4J on the device (into a
            // temporary: Nd4j.gemm will not write into a view).
            INDArray p = org.nd4j.linalg.factory.Nd4j.gemm(
                    view(a, transA ? k : m, transA ? m : k), view(b, transB ? n : k, transB ? k : n), transA, transB);
            INDArray out = view(c, m, n);
            if (beta == 0) {
                out.assign(p.muli(alpha));
            } else {
                out.muli(beta).addi(p.muli(alpha));
            }
            return;
        }
        int ta = transA ? openblas.CblasTrans : openblas.CblasNoTrans;
        int tb = transB ? openblas.CblasTrans : openblas.CblasNoTrans;
        DataType type = c.base().dataType();
        if (type == DataType.FLOAT) {
            openblas.cblas_sgemm(
                    openblas.CblasRowMajor,
                    ta,
                    tb,
                    m,
                    n,
                    k,
                    (float) alpha,
                    floats(a),
                    a.ld(),
                    floats(b),
                    b.ld(),
                    (float) beta,
                    floats(c),
                    c.ld());
        } else if (type == DataType.DOUBLE) {
            openblas.cblas_dgemm(
                    openblas.CblasRowMajor,
                    ta,
                    tb,
                    m,
                    n,
                    k,
                    alpha,
                    doubles(a),
                    a.ld(),
                    doubles(b),
                    b.ld(),
                    beta,
                    doubles(c),
                    c.ld());
        } else {
            throw new IllegalArgumentException("GEMM needs FLOAT or DOUBLE, found " + type);
        }
    }

    private static INDArray view(Block x, int rows, int cols) {
        return org.nd4j.linalg.factory.Nd4j.create(
                x.base().data(),
                new long[] {rows, cols},
                new long[] {x.ld(), 1},
                x.base().offset() + x.offset(),
                'c',
                x.base().dataType());
    }

    private static FloatPointer floats(Block x) {
        check(x);
        return new FloatPointer(x.base().data().addressPointer())
                .position(x.base().offset() + x.offset());
    }

    private static DoublePointer doubles(Block x) {
        check(x);
        return new DoublePointer(x.base().data().addressPointer())
                .position(x.base().offset() + x.offset());
    }

    private static void check(Block x) {
        if (x.base().ordering() != 'c' || (x.base().rank() == 2 && x.base().stride(1) != 1)) {
            throw new IllegalArgumentException("Blas.gemm needs a c-order contiguous base array");
        }
    }
}
