package org.peft4j.adapters.linalg;

/**
 * Where the model's and adapters' matrix products run: {@code c = alpha op(a) op(b) + beta c} on row-major
 * sub-matrices ({@link Blas.Block}). One implementation per library; {@link Blas} picks one per process.
 *
 * <p>Types: c is FLOAT or DOUBLE; a and b are c's type, or both BFLOAT16 with c FLOAT (bf16 products, fp32
 * accumulation) where {@link #bf16()} says so.
 */
public interface GemmBackend {
    /** What {@code peft4j.gemm} / {@code PEFT4J_GEMM} calls it: openblas, onednn or nd4j. */
    String name();

    /** The library's version where it says one (oneDNN's, e.g. 3.13.0), else empty: recorded with benchmarks. */
    default String version() {
        return "";
    }

    /** Whether BFLOAT16 inputs are multiplied here (else the caller converts them to FLOAT first). */
    boolean bf16();

    void gemm(
            boolean transA,
            boolean transB,
            int m,
            int n,
            int k,
            double alpha,
            Blas.Block a,
            Blas.Block b,
            double beta,
            Blas.Block c);
}
