package org.peft4j.adapters.linalg;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The device path (nd4j-cuda): the same sub-matrices as strided views, multiplied by ND4J where the arrays live,
 * into a temporary ({@code Nd4j.gemm} will not write into a view). On a CPU build it is how that path is tested.
 */
final class Nd4jGemm implements GemmBackend {
    static final Nd4jGemm INSTANCE = new Nd4jGemm();

    private Nd4jGemm() {}

    @Override
    public String name() {
        return "nd4j";
    }

    @Override
    public boolean bf16() {
        return false;
    }

    @Override
    public void gemm(
            boolean transA,
            boolean transB,
            int m,
            int n,
            int k,
            double alpha,
            Blas.Block a,
            Blas.Block b,
            double beta,
            Blas.Block c) {
        Blas.checkTypes(a, b, c, false);
        INDArray p = Nd4j.gemm(
                view(a, transA ? k : m, transA ? m : k), view(b, transB ? n : k, transB ? k : n), transA, transB);
        INDArray out = view(c, m, n);
        if (beta == 0) {
            out.assign(p.muli(alpha));
        } else {
            out.muli(beta).addi(p.muli(alpha));
        }
    }

    private static INDArray view(Blas.Block x, int rows, int cols) {
        DataType type = x.base().dataType();
        return Nd4j.create(
                x.base().data(),
                new long[] {rows, cols},
                new long[] {x.ld(), 1},
                x.base().offset() + x.offset(),
                'c',
                type);
    }
}
