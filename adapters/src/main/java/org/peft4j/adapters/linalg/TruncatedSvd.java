package org.peft4j.adapters.linalg;

import java.util.SplittableRandom;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Leading singular triplets {@code W ~ U diag(sigma) Vt} on LAPACK ({@link Lapack}). The ND4J {@code svd} op fails for n > 16 and a
 * full {@code gesvd} of 1024^2 took 7.7 s (FINDINGS.md), so:
 * <ul>
 *   <li>small matrices (min dimension up to {@link #EXACT_MAX}): QR of the tall side, then {@code gesvd} of the small
 *       square R factor: exact, and never forms the large square U or V that {@code gesvd} would;</li>
 *   <li>larger ones: randomized range finder (Halko, Martinsson, Tropp 2011, algorithm 4.4: oversampling 10, two
 *       power iterations with re-orthonormalisation), then the same small SVD.</li>
 * </ul>
 * Deterministic for a given seed. Singular values are in descending order.
 */
public final class TruncatedSvd {
    /** Up to this min(m, n) the decomposition is exact. */
    public static final int EXACT_MAX = 512;

    private static final int OVERSAMPLE = 10;
    private static final int POWER_ITERATIONS = 2;

    private TruncatedSvd() {}

    /** U (m x k), sigma (1 x k), Vt (k x n). */
    public record Result(INDArray u, INDArray sigma, INDArray vt) {
        public int rank() {
            return (int) sigma.length();
        }

        /** The leading {@code k} triplets, as c-order copies. */
        public Result truncate(int k) {
            if (k > rank()) {
                throw new IllegalArgumentException("truncate: have " + rank() + " triplets, asked for " + k);
            }
            return new Result(
                    u.get(NDArrayIndex.all(), NDArrayIndex.interval(0, k)).dup('c'),
                    sigma.get(NDArrayIndex.all(), NDArrayIndex.interval(0, k)).dup('c'),
                    vt.get(NDArrayIndex.interval(0, k), NDArrayIndex.all()).dup('c'));
        }
    }

    public static Result compute(INDArray w, int k, long seed) {
        int m = (int) w.rows();
        int n = (int) w.columns();
        if (k < 1 || k > Math.min(m, n)) {
            throw new IllegalArgumentException("SVD rank: expected 1.." + Math.min(m, n) + ", found " + k);
        }
        Result full = Math.min(m, n) <= EXACT_MAX ? exact(w) : randomized(w, k, seed);
        Result out = full.truncate(k); // copies
        full.u.close();
        full.sigma.close();
        full.vt.close();
        return out;
    }

    /** Exact thin SVD through QR of the tall orientation. */
    static Result exact(INDArray w) {
        if (w.rows() >= w.columns()) {
            return thinSvdTall(w);
        }
        Result t = thinSvdTall(w.transpose());
        return new Result(t.vt.transpose().dup('c'), t.sigma, t.u.transpose().dup('c'));
    }

    /** For tall W (m >= n): W = Q R, R = Ur S Vt, so W = (Q Ur) S Vt. */
    private static Result thinSvdTall(INDArray w) {
        int n = (int) w.columns();
        INDArray q = w.dup('f');
        INDArray r = Lapack.qr(q, true);
        INDArray s = Nd4j.create(w.dataType(), 1, n);
        INDArray ur = Nd4j.create(w.dataType(), new long[] {n, n}, 'f');
        INDArray vt = Nd4j.create(w.dataType(), new long[] {n, n}, 'f');
        Lapack.svd(r, s, ur, vt);
        INDArray u = Nd4j.create(w.dataType(), q.rows(), n);
        Gemm.set(u, q, false, ur, false);
        return new Result(u, s, vt.dup('c'));
    }

    /**
     * Randomized range finder for the leading k directions, then an exact SVD of the small projection. Temporaries
     * are freed as soon as they are dead: at 7B, 224 targets' worth left to the garbage collector is gigabytes.
     */
    static Result randomized(INDArray w, int k, long seed) {
        int m = (int) w.rows();
        int n = (int) w.columns();
        int l = Math.min(k + OVERSAMPLE, Math.min(m, n));
        INDArray omega = RandomMatrix.gaussian(w.dataType(), n, l, new SplittableRandom(seed));
        INDArray y = Nd4j.create(w.dataType(), m, l);
        INDArray z = Nd4j.create(w.dataType(), n, l);
        Gemm.set(y, w, false, omega, false);
        omega.close();
        INDArray q = orthonormalize(y);
        for (int i = 0; i < POWER_ITERATIONS; i++) {
            Gemm.set(z, w, true, q, false);
            INDArray qz = orthonormalize(z);
            Gemm.set(y, w, false, qz, false);
            qz.close();
            q.close();
            q = orthonormalize(y);
        }
        y.close();
        z.close();
        // B = Q^T W is l x n (short and wide); its SVD via the tall B^T.
        INDArray bt = Nd4j.create(w.dataType(), n, l);
        Gemm.set(bt, w, true, q, false);
        Result small = thinSvdTall(bt); // B^T = Ub S Vbt  =>  B = Vbt^T S Ub^T
        bt.close();
        INDArray u = Nd4j.create(w.dataType(), m, l);
        Gemm.set(u, q, false, small.vt, true);
        q.close();
        INDArray vt = small.u.transpose().dup('c');
        small.u.close();
        small.vt.close();
        return new Result(u, small.sigma, vt);
    }

    /** Q of a thin QR, as a c-order copy. */
    private static INDArray orthonormalize(INDArray a) {
        INDArray q = a.dup('f');
        Lapack.qr(q, false);
        INDArray c = q.dup('c');
        q.close();
        return c;
    }
}
