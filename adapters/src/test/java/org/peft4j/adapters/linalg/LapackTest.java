package org.peft4j.adapters.linalg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** QR and SVD through LAPACKE: their maths, and the same bits while the garbage collector runs beside them. */
class LapackTest {

    private static double maxAbs(INDArray x) {
        return x.amaxNumber().doubleValue();
    }

    @Test
    void qrGivesAnOrthonormalQAndAnUpperTriangularRWhoseProductIsTheInput() {
        for (DataType type : List.of(DataType.FLOAT, DataType.DOUBLE)) {
            double tol = type == DataType.FLOAT ? 1e-5 : 1e-12;
            for (int[] shape : new int[][] {{37, 11}, {64, 64}, {300, 17}, {5, 1}}) {
                INDArray a = RandomMatrix.gaussian(type, shape[0], shape[1], new SplittableRandom(shape[0]));
                INDArray q = a.dup('f');
                INDArray r = Lapack.qr(q, true);
                int n = shape[1];
                String what = type + " " + shape[0] + "x" + n;
                assertEquals(n, r.rows(), what);
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < i; j++) {
                        assertEquals(0.0, r.getDouble(i, j), 0.0, what + ": R below the diagonal");
                    }
                }
                assertTrue(maxAbs(q.transpose().mmul(q).sub(Nd4j.eye(n).castTo(type))) < tol, what + ": Q^T Q = I");
                assertTrue(maxAbs(q.mmul(r).sub(a)) < tol * 10, what + ": Q R = A");

                INDArray qOnly = a.dup('f');
                assertNull(Lapack.qr(qOnly, false), what);
                assertEquals(q, qOnly, what + ": the same Q without R");
            }
        }
    }

    @Test
    void svdReconstructsTheInputWithDescendingSingularValues() {
        for (DataType type : List.of(DataType.FLOAT, DataType.DOUBLE)) {
            double tol = type == DataType.FLOAT ? 1e-4 : 1e-11;
            for (int n : new int[] {1, 7, 48}) {
                INDArray a = RandomMatrix.gaussian(type, n, n, new SplittableRandom(n))
                        .dup('f');
                INDArray work = a.dup('f');
                INDArray s = Nd4j.create(type, 1, n);
                INDArray u = Nd4j.create(type, new long[] {n, n}, 'f');
                INDArray vt = Nd4j.create(type, new long[] {n, n}, 'f');
                Lapack.svd(work, s, u, vt);
                for (int i = 1; i < n; i++) {
                    assertTrue(s.getDouble(i - 1) >= s.getDouble(i), type + " n=" + n + ": descending");
                }
                INDArray back = u.mulRowVector(s).mmul(vt);
                assertTrue(maxAbs(back.sub(a)) < tol, type + " n=" + n + ": U diag(s) Vt = A");
                assertTrue(maxAbs(u.transpose().mmul(u).sub(Nd4j.eye(n).castTo(type))) < tol, "U orthonormal");
            }
        }
    }

    @Test
    void anythingButAWholeColumnMajorFloatOrDoubleMatrixIsRefused() {
        INDArray c = Nd4j.create(DataType.FLOAT, 6, 3);
        var e = assertThrows(IllegalArgumentException.class, () -> Lapack.qr(c, true));
        assertTrue(e.getMessage().startsWith("Lapack.qr: a whole column-major FLOAT or DOUBLE matrix"), e.getMessage());
        assertThrows(
                IllegalArgumentException.class,
                () -> Lapack.qr(Nd4j.create(DataType.FLOAT, new long[] {3, 6}, 'f'), true));
        assertThrows(
                IllegalArgumentException.class,
                () -> Lapack.qr(Nd4j.create(DataType.BFLOAT16, new long[] {6, 3}, 'f'), true));
        INDArray sq = Nd4j.create(DataType.FLOAT, new long[] {4, 4}, 'f');
        assertThrows(
                IllegalArgumentException.class,
                () -> Lapack.svd(
                        sq,
                        Nd4j.create(DataType.FLOAT, 1, 3),
                        Nd4j.create(DataType.FLOAT, new long[] {4, 4}, 'f'),
                        Nd4j.create(DataType.FLOAT, new long[] {4, 4}, 'f')));
    }

    /**
     * What ND4J's LAPACK wrapper got wrong: its workspaces could be freed by a collection during the call. Here another
     * thread asks for a full collection every 2 ms (as ND4J's own periodic collection does, in another task's
     * training) while the same SVD runs 300 times; every result must be the first one bit for bit. Through ND4J's
     * {@code geqrf}/{@code gesvd} 129 of 300 came out wrong, from call 106 on (once the JIT had compiled the wrapper),
     * and longer runs aborted the JVM; through {@link Lapack}, none, in about 14 s.
     */
    @Test
    void theSameBitsWhileTheCollectorRuns() throws Exception {
        INDArray w = RandomMatrix.gaussian(DataType.FLOAT, 352, 128, new SplittableRandom(5));
        List<String> wrong = sameBitsUnderCollection(
                () -> TruncatedSvd.compute(w, 8, 3L).u().data().asFloat(), 300);
        assertEquals(List.of(), wrong);
    }

    /** Runs {@code f} {@code times} while another thread collects garbage; the calls whose result is not the first. */
    private static List<String> sameBitsUnderCollection(Supplier<float[]> f, int times) throws InterruptedException {
        float[] first = f.get();
        AtomicBoolean done = new AtomicBoolean();
        Thread collector = new Thread(() -> {
            while (!done.get()) {
                System.gc();
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        collector.setDaemon(true);
        collector.start();
        List<String> wrong = new ArrayList<>();
        try {
            for (int i = 0; i < times; i++) {
                if (!Arrays.equals(first, f.get())) {
                    wrong.add("call " + i);
                }
            }
        } finally {
            done.set(true);
            collector.join();
        }
        return wrong;
    }
}
