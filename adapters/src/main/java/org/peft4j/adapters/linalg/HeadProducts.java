package org.peft4j.adapters.linalg;

import java.lang.ref.Reference;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Attention's products on head-major operands, through oneDNN: in bf16, or in fp32 for an fp32 model. oneDNN's AMX
 * and AVX-512 BF16 kernels (brgemm) take only dense matrices: a head reached as a column block of a tokens-first
 * matrix (row stride heads*headDim) falls back to a generic kernel no faster than fp32 (measured). So each operand is
 * copied once into head-major order (heads x T x headDim), rounded to bf16 on the way for bf16 products, every
 * head's product of a sequence runs as one batched matmul, and the fp32 results are copied back tokens-first.
 */
public final class HeadProducts {
    private HeadProducts() {}

    /**
     * Whether attention should use this here: the products go to oneDNN ({@link Blas#backend()}) on a CPU with bf16
     * dot-product instructions (elsewhere oneDNN has no fast bf16 kernel for these shapes), where oneDNN has a JIT
     * kernel for a product with a broadcast addend (the causal mask).
     */
    public static boolean available() {
        return Blas.backend() instanceof OneDnnGemm d && d.fastBf16() && d.broadcastAddendIsFast(false);
    }

    /**
     * Whether attention should multiply {@code operands} (BFLOAT16: {@link #available()}; FLOAT: on oneDNN with a
     * JIT kernel for the causal mask's broadcast addend) here.
     */
    public static boolean available(DataType operands) {
        if (operands == DataType.BFLOAT16) {
            return available();
        }
        return operands == DataType.FLOAT && Blas.backend() instanceof OneDnnGemm d && d.broadcastAddendIsFast(true);
    }

    /**
     * {@code dst} (heads*rows x headDim, dense FLOAT or BFLOAT16) := rows {@code [row0, row0 + rows)} of the
     * tokens-first FLOAT {@code x} (n x heads*headDim), head by head.
     */
    public static void toHeadMajor(INDArray x, long row0, int rows, int heads, int headDim, INDArray dst) {
        copyHeads(x, row0, rows, heads, headDim, dst, true);
    }

    /** Rows {@code [row0, row0 + rows)} of {@code x} := {@code src} (heads*rows x headDim FLOAT): the reverse. */
    public static void fromHeadMajor(INDArray src, INDArray x, long row0, int rows, int heads, int headDim) {
        copyHeads(x, row0, rows, heads, headDim, src, false);
    }

    /** One copy between x's rows (tokens-first) and headMajor, in the direction {@code toHeadMajor} says. */
    private static void copyHeads(
            INDArray x, long row0, int rows, int heads, int headDim, INDArray headMajor, boolean toHeadMajor) {
        check(x, headMajor, rows, heads, headDim);
        long[] dims = {heads, rows, headDim};
        long[] tokensFirst = {headDim, (long) heads * headDim, 1};
        long[] byHead = {(long) rows * headDim, headDim, 1};
        Pointer xAt = Blas.address(new Blas.Block(x, row0 * heads * headDim, heads * headDim));
        Pointer headMajorAt = Blas.address(headMajor);
        if (toHeadMajor) {
            dnnl().copy(dims, tokensFirst, DataType.FLOAT, xAt, byHead, headMajor.dataType(), headMajorAt);
        } else {
            dnnl().copy(dims, byHead, headMajor.dataType(), headMajorAt, tokensFirst, DataType.FLOAT, xAt);
        }
        Reference.reachabilityFence(x);
        Reference.reachabilityFence(headMajor);
    }

    /**
     * For each i below {@code batch}: {@code c_i = alpha op(a_i) op(b_i) (+ add)}, with a and b dense BFLOAT16 (or
     * both FLOAT) arrays holding {@code batch} matrices one after another (m x k, or k x m when transposed; likewise
     * b), c dense FLOAT, and {@code add} null or one dense FLOAT m x n matrix that every c_i adds in the same pass,
     * after alpha (a mask, say).
     */
    public static void product(
            boolean transA,
            boolean transB,
            int batch,
            int m,
            int n,
            int k,
            double alpha,
            INDArray a,
            INDArray b,
            INDArray c,
            INDArray add) {
        long mk = (long) m * k;
        long kn = (long) k * n;
        long mn = (long) m * n;
        if (a.length() != batch * mk || b.length() != batch * kn || c.length() != batch * mn) {
            throw new IllegalArgumentException("HeadProducts.product: dense BFLOAT16 x BFLOAT16 (or FLOAT x FLOAT) ->"
                    + " FLOAT of "
                    + (batch * (mk + kn + mn)) + " elements in all, found " + a.dataType() + " " + a.length()
                    + ", "
                    + b.dataType() + " " + b.length() + ", " + c.dataType() + " " + c.length());
        }
        product(transA, transB, batch, m, n, k, alpha, a, mk, b, kn, c, mn, false, add);
    }

    /**
     * As {@link #product(boolean, boolean, int, int, int, int, double, INDArray, INDArray, INDArray, INDArray)}, with
     * batch member i of a, b and c starting {@code i * stride} elements into its array (a stride larger than one
     * matrix takes the leading rows of each of a batch of larger ones: one half of every head), and {@code
     * accumulate}: c_i += instead of c_i =.
     */
    public static void product(
            boolean transA,
            boolean transB,
            int batch,
            int m,
            int n,
            int k,
            double alpha,
            INDArray a,
            long aStride,
            INDArray b,
            long bStride,
            INDArray c,
            long cStride,
            boolean accumulate,
            INDArray add) {
        if (add != null && (!Blas.denseFloat(add) || add.length() != (long) m * n || !Blas.denseFloat(c))) {
            throw new IllegalArgumentException("HeadProducts.product: the addend must be one dense FLOAT " + m + " x "
                    + n + " matrix, for a FLOAT c, found " + add.dataType() + " " + add.shapeInfoToString()
                    + " and c " + c.dataType());
        }
        boolean f32 = a.dataType() == DataType.FLOAT;
        if ((a.dataType() != DataType.BFLOAT16 && !f32)
                || b.dataType() != a.dataType()
                || !Blas.denseFloat(c)
                || a.isView()
                || b.isView()
                || !holds(a, batch, aStride, (long) m * k)
                || !holds(b, batch, bStride, (long) k * n)
                || !holds(c, batch, cStride, (long) m * n)) {
            throw new IllegalArgumentException("HeadProducts.product: dense BFLOAT16 x BFLOAT16 (or FLOAT x FLOAT)"
                    + " -> FLOAT, "
                    + batch + " matrices each, " + m + " x " + k + " times " + k + " x " + n + " at strides " + aStride
                    + ", " + bStride + ", " + cStride + ": found " + a.dataType() + " " + a.length() + ", "
                    + b.dataType() + " " + b.length() + ", " + c.dataType() + " " + c.length());
        }
        dnnl().batched(
                        f32,
                        transA,
                        transB,
                        batch,
                        m,
                        n,
                        k,
                        alpha,
                        Blas.address(a),
                        Blas.address(b),
                        Blas.address(c),
                        new long[] {aStride, bStride, cStride},
                        accumulate,
                        add == null ? null : Blas.address(add));
        Reference.reachabilityFence(a);
        Reference.reachabilityFence(b);
        Reference.reachabilityFence(c);
        Reference.reachabilityFence(add);
    }

    /** Whether x holds {@code batch} matrices of {@code size} elements, {@code stride} apart. */
    private static boolean holds(INDArray x, int batch, long stride, long size) {
        return stride >= size && x.length() >= (batch - 1) * stride + size;
    }

    /**
     * With p = softmax(s) row by row and g = dL/dp, both dense FLOAT of one shape: g := dL/ds = p * (g - rowsum(p *
     * g)), in place (oneDNN's softmax backward; {@link RowSoftmax#backward} without its work buffer).
     */
    public static void softmaxBackward(INDArray p, INDArray g) {
        if (!Blas.denseFloat(p) || !Blas.denseFloat(g) || !p.equalShapes(g)) {
            throw new IllegalArgumentException("HeadProducts.softmaxBackward: two dense FLOAT of one shape, found "
                    + p.dataType() + " " + p.shapeInfoToString() + " and " + g.dataType() + " "
                    + g.shapeInfoToString());
        }
        dnnl().softmaxBackward(Blas.address(p), Blas.address(g), p.rows(), p.columns());
        Reference.reachabilityFence(p);
        Reference.reachabilityFence(g);
    }

    private static void check(INDArray x, INDArray headMajor, int rows, int heads, int headDim) {
        if (!Blas.denseFloat(x)
                || x.columns() != (long) heads * headDim
                || headMajor.length() != (long) heads * rows * headDim
                || headMajor.isView()
                || (headMajor.dataType() != DataType.FLOAT && headMajor.dataType() != DataType.BFLOAT16)) {
            throw new IllegalArgumentException("HeadProducts: a dense FLOAT (n x " + heads * headDim + ") and a"
                    + " whole FLOAT or BFLOAT16 array of " + (long) heads * rows * headDim + " elements, found "
                    + x.dataType() + " " + x.shapeInfoToString() + " and " + headMajor.dataType() + " "
                    + headMajor.length());
        }
    }

    private static OneDnnGemm dnnl() {
        if (!(Blas.backend() instanceof OneDnnGemm d)) {
            throw new IllegalStateException("HeadProducts needs the oneDNN backend, not "
                    + Blas.backend().name());
        }
        return d;
    }
}
