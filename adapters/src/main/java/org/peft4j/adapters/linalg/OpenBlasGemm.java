package org.peft4j.adapters.linalg;

import org.bytedeco.openblas.global.openblas;
import org.nd4j.linalg.api.buffer.DataType;

/** cblas_sgemm / cblas_dgemm of the OpenBLAS that ND4J links (0.3.19: its Zen kernels are AVX2 ones). */
final class OpenBlasGemm implements GemmBackend {
    static final OpenBlasGemm INSTANCE = new OpenBlasGemm();

    private OpenBlasGemm() {}

    @Override
    public String name() {
        return "openblas";
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
        int ta = transA ? openblas.CblasTrans : openblas.CblasNoTrans;
        int tb = transB ? openblas.CblasTrans : openblas.CblasNoTrans;
        DataType type = Blas.checkTypes(a, b, c, false);
        if (type == DataType.FLOAT) {
            openblas.cblas_sgemm(
                    openblas.CblasRowMajor,
                    ta,
                    tb,
                    m,
                    n,
                    k,
                    (float) alpha,
                    Blas.floats(a),
                    a.ld(),
                    Blas.floats(b),
                    b.ld(),
                    (float) beta,
                    Blas.floats(c),
                    c.ld());
        } else {
            openblas.cblas_dgemm(
                    openblas.CblasRowMajor,
                    ta,
                    tb,
                    m,
                    n,
                    k,
                    alpha,
                    Blas.doubles(a),
                    a.ld(),
                    Blas.doubles(b),
                    b.ld(),
                    beta,
                    Blas.doubles(c),
                    c.ld());
        }
    }
}
