package org.peft4j.adapters.linalg;

import java.lang.ref.Reference;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.openblas.global.openblas;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The two LAPACK routines {@link TruncatedSvd} needs (thin QR, SVD of a small square matrix), called through OpenBLAS's
 * LAPACKE on whole column-major FLOAT or DOUBLE arrays, with every array and workspace kept reachable until the call
 * returns.
 *
 * <p>Not ND4J's {@code Nd4j.getBlasWrapper().lapack()}: in M2.1 its {@code geqrf} and {@code gesvd} pass the address of
 * a workspace array they allocate ({@code tau}, {@code superb}) and never touch the array again, so once the JIT has
 * compiled them a collection during the LAPACK call lets ND4J free the workspace while LAPACK still reads or writes
 * it. Measured here with another thread asking for a collection every 2 ms: wrong Q (so wrong U, while sigma and Vt
 * stayed right) from about the hundredth call on, then "corrupted double-linked list" and an aborted JVM
 * ({@code LapackTest}). In a job that was a PiSSA worker built while another task trained (LaMDA's A and B come from
 * the same SVD): about one build in 300-600 with wrong frozen factors, and a different result on a rerun.
 */
final class Lapack {
    private Lapack() {}

    /**
     * Thin QR of {@code a} (m x n, m &gt;= n, whole and column-major), in place: {@code a} becomes Q. Returns R (n x n,
     * column-major, zero below the diagonal), or null when {@code wantR} is false.
     */
    static INDArray qr(INDArray a, boolean wantR) {
        check(a, "qr");
        int m = (int) a.rows();
        int n = (int) a.columns();
        if (m < n) {
            throw new IllegalArgumentException("Lapack.qr: a tall matrix, found " + m + " x " + n);
        }
        INDArray tau = Nd4j.create(a.dataType(), n);
        INDArray r = wantR ? Nd4j.create(a.dataType(), new long[] {n, n}, 'f') : null; // zeros
        try {
            if (a.dataType() == DataType.FLOAT) {
                FloatPointer ap = new FloatPointer(a.data().addressPointer());
                FloatPointer tp = new FloatPointer(tau.data().addressPointer());
                status("sgeqrf", openblas.LAPACKE_sgeqrf(openblas.LAPACK_COL_MAJOR, m, n, ap, m, tp));
                upperTriangle(a, r);
                status("sorgqr", openblas.LAPACKE_sorgqr(openblas.LAPACK_COL_MAJOR, m, n, n, ap, m, tp));
            } else {
                DoublePointer ap = new DoublePointer(a.data().addressPointer());
                DoublePointer tp = new DoublePointer(tau.data().addressPointer());
                status("dgeqrf", openblas.LAPACKE_dgeqrf(openblas.LAPACK_COL_MAJOR, m, n, ap, m, tp));
                upperTriangle(a, r);
                status("dorgqr", openblas.LAPACKE_dorgqr(openblas.LAPACK_COL_MAJOR, m, n, n, ap, m, tp));
            }
        } finally {
            Reference.reachabilityFence(a);
            Reference.reachabilityFence(r);
            Reference.reachabilityFence(tau);
        }
        tau.close();
        return r;
    }

    /**
     * SVD of the square {@code a} (n x n, whole and column-major; destroyed): {@code a = u diag(s) vt} with s (n
     * values, descending) and u, vt (n x n, column-major) written, as LAPACK's {@code gesvd} with jobu = jobvt = 'A'.
     */
    static void svd(INDArray a, INDArray s, INDArray u, INDArray vt) {
        check(a, "svd");
        check(u, "svd");
        check(vt, "svd");
        int n = (int) a.rows();
        if (a.columns() != n
                || u.rows() != n
                || u.columns() != n
                || vt.rows() != n
                || vt.columns() != n
                || s.length() != n
                || s.isView()
                || s.dataType() != a.dataType()
                || u.dataType() != a.dataType()
                || vt.dataType() != a.dataType()) {
            throw new IllegalArgumentException("Lapack.svd: a square n x n with s (n), u and vt (n x n) of its type,"
                    + " found " + a.shapeInfoToString() + ", " + s.shapeInfoToString() + ", " + u.shapeInfoToString()
                    + ", " + vt.shapeInfoToString());
        }
        INDArray superb = Nd4j.create(a.dataType(), Math.max(1, n));
        byte all = (byte) 'A';
        try {
            if (a.dataType() == DataType.FLOAT) {
                status(
                        "sgesvd",
                        openblas.LAPACKE_sgesvd(
                                openblas.LAPACK_COL_MAJOR,
                                all,
                                all,
                                n,
                                n,
                                new FloatPointer(a.data().addressPointer()),
                                n,
                                new FloatPointer(s.data().addressPointer()),
                                new FloatPointer(u.data().addressPointer()),
                                n,
                                new FloatPointer(vt.data().addressPointer()),
                                n,
                                new FloatPointer(superb.data().addressPointer())));
            } else {
                status(
                        "dgesvd",
                        openblas.LAPACKE_dgesvd(
                                openblas.LAPACK_COL_MAJOR,
                                all,
                                all,
                                n,
                                n,
                                new DoublePointer(a.data().addressPointer()),
                                n,
                                new DoublePointer(s.data().addressPointer()),
                                new DoublePointer(u.data().addressPointer()),
                                n,
                                new DoublePointer(vt.data().addressPointer()),
                                n,
                                new DoublePointer(superb.data().addressPointer())));
            }
        } finally {
            Reference.reachabilityFence(a);
            Reference.reachabilityFence(s);
            Reference.reachabilityFence(u);
            Reference.reachabilityFence(vt);
            Reference.reachabilityFence(superb);
        }
        superb.close();
    }

    /**
     * After geqrf: R's column j := the first j + 1 entries of a's column j, for any element type (a byte copy; r
     * starts as zeros, so below the diagonal stays zero). Nothing when r is null.
     */
    private static void upperTriangle(INDArray a, INDArray r) {
        if (r == null) {
            return;
        }
        long m = a.rows();
        long n = r.rows();
        int width = a.dataType().width();
        for (long j = 0; j < n; j++) {
            Pointer.memcpy(
                    new BytePointer(r.data().addressPointer()).position(j * n * width),
                    new BytePointer(a.data().addressPointer()).position(j * m * width),
                    (j + 1) * width);
        }
    }

    private static void check(INDArray x, String what) {
        if ((x.dataType() != DataType.FLOAT && x.dataType() != DataType.DOUBLE)
                || x.rank() != 2
                || x.ordering() != 'f'
                || x.isView()
                || x.offset() != 0
                || (x.rows() > 1 && x.stride(0) != 1)
                || (x.columns() > 1 && x.stride(1) != x.rows())) {
            throw new IllegalArgumentException(
                    "Lapack." + what + ": a whole column-major FLOAT or DOUBLE matrix, found " + x.shapeInfoToString());
        }
    }

    private static void status(String routine, int info) {
        if (info != 0) {
            throw new IllegalStateException("LAPACKE_" + routine + " returned " + info);
        }
    }
}
