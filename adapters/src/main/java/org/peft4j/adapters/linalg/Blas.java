package org.peft4j.adapters.linalg;

import java.lang.ref.Reference;
import java.util.Locale;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Row-major GEMM on sub-matrices addressed by element offset and leading dimension: every product of the model and
 * the adapters comes here. Attention multiplies one head at a time: a head is a column block of a tokens-first
 * (tokens x heads*headDim) matrix, which this reaches with no copy and no view object, where {@code Nd4j.gemm} on
 * views measured several times slower than the arithmetic.
 *
 * <p>The products run on one {@link GemmBackend} per process: {@code peft4j.gemm} (system property) or
 * {@code PEFT4J_GEMM} = auto | onednn | openblas | nd4j. auto: nd4j where arrays live on a device (nd4j-cuda),
 * else oneDNN when its native library loads, else OpenBLAS.
 */
public final class Blas {
    private Blas() {}

    /** A sub-matrix of a c-order array: element offset from the array's start and row stride. */
    public record Block(INDArray base, long offset, int ld) {}

    private static final boolean CPU = Nd4j.getEnvironment().isCPU();
    private static volatile GemmBackend backend = choose(setting());

    /** Whether arrays live in host memory that native libraries can read (nd4j-native); false on nd4j-cuda. */
    public static boolean host() {
        return backend != Nd4jGemm.INSTANCE;
    }

    /** The backend the products run on. */
    public static GemmBackend backend() {
        return backend;
    }

    /** What {@code peft4j.gemm} / {@code PEFT4J_GEMM} say, "auto" when neither is set. */
    static String setting() {
        String s = System.getProperty("peft4j.gemm", System.getenv("PEFT4J_GEMM"));
        return s == null || s.isBlank() ? "auto" : s.strip().toLowerCase(Locale.ROOT);
    }

    /** The backend {@code name} names (auto as above); an unknown name or one that cannot load here fails. */
    public static GemmBackend choose(String name) {
        switch (name) {
            case "auto":
                if (!CPU) {
                    return Nd4jGemm.INSTANCE;
                }
                OneDnnGemm dnnl = OneDnnGemm.load();
                return dnnl != null ? dnnl : OpenBlasGemm.INSTANCE;
            case "onednn":
                OneDnnGemm d = CPU ? OneDnnGemm.load() : null;
                if (d == null) {
                    throw new IllegalArgumentException("peft4j.gemm = onednn: oneDNN does not load here"
                            + (CPU ? ": " + OneDnnGemm.loadError() : " (arrays live on a device)"));
                }
                return d;
            case "openblas":
                if (!CPU) {
                    throw new IllegalArgumentException("peft4j.gemm = openblas: arrays live on a device here");
                }
                return OpenBlasGemm.INSTANCE;
            case "nd4j":
                return Nd4jGemm.INSTANCE;
            default:
                throw new IllegalArgumentException(
                        "peft4j.gemm: expected one of [auto, onednn, openblas, nd4j], found '" + name + "'");
        }
    }

    /** Switches the backend for this process (tests, benchmarks); returns the one it replaces. */
    public static GemmBackend use(GemmBackend b) {
        GemmBackend old = backend;
        backend = b;
        return old;
    }

    /**
     * Forces the device path (strided views through ND4J) on a CPU build: how the GPU code path is tested on
     * machines without a GPU. Not for production use.
     */
    public static void useDevicePathForTesting(boolean device) {
        backend = device ? Nd4jGemm.INSTANCE : choose(setting());
    }

    /** {@code c = alpha op(a) op(b) + beta c}, op(a) m x k, op(b) k x n. */
    public static void gemm(
            boolean transA, boolean transB, int m, int n, int k, double alpha, Block a, Block b, double beta, Block c) {
        GemmBackend g = backend;
        if (a.base().dataType() == DataType.BFLOAT16 && !g.bf16()) {
            // A backend without bf16 products multiplies the fp32 values of the bf16 operands (exact conversion).
            a = asFloat(a, transA ? k : m, transA ? m : k);
            b = asFloat(b, transB ? n : k, transB ? k : n);
        }
        g.gemm(transA, transB, m, n, k, alpha, a, b, beta, c);
        // The backends pass raw addresses: the arrays must outlive the native call (see Lapack on what happens else).
        Reference.reachabilityFence(a);
        Reference.reachabilityFence(b);
        Reference.reachabilityFence(c);
    }

    private static Block asFloat(Block x, int rows, int cols) {
        if (x.base().dataType() != DataType.BFLOAT16) {
            return x;
        }
        INDArray view = Nd4j.create(
                x.base().data(),
                new long[] {rows, cols},
                new long[] {x.ld(), 1},
                x.base().offset() + x.offset(),
                'c',
                DataType.BFLOAT16);
        return new Block(view.castTo(DataType.FLOAT), 0, cols);
    }

    /** The element type of the product; checks the combination (see {@link GemmBackend}) and the layout. */
    static DataType checkTypes(Block a, Block b, Block c, boolean bf16) {
        DataType t = c.base().dataType();
        DataType in = a.base().dataType();
        boolean ok = (t == DataType.FLOAT || t == DataType.DOUBLE)
                && in == b.base().dataType()
                && (in == t || (bf16 && in == DataType.BFLOAT16 && t == DataType.FLOAT));
        if (!ok) {
            throw new IllegalArgumentException("GEMM needs FLOAT or DOUBLE throughout"
                    + (bf16 ? ", or BFLOAT16 inputs into FLOAT" : "") + "; found " + in + " x "
                    + b.base().dataType() + " -> " + t);
        }
        check(a);
        check(b);
        check(c);
        return t;
    }

    static FloatPointer floats(Block x) {
        return new FloatPointer(x.base().data().addressPointer()).position(element(x));
    }

    static DoublePointer doubles(Block x) {
        return new DoublePointer(x.base().data().addressPointer()).position(element(x));
    }

    /**
     * The block's first element counted from its base's data pointer. A view's data buffer already starts at the
     * view's offset (ND4J M2.1), so only the difference between the two offsets is added.
     */
    private static long element(Block x) {
        return x.base().offset() - x.base().data().offset() + x.offset();
    }

    /**
     * The address of a block's first element as a byte pointer, for APIs that take {@code void*} (JavaCPP adds a
     * pointer's position to such an argument in bytes, whatever the pointer's element type).
     */
    static Pointer address(Block x) {
        return new BytePointer(x.base().data().addressPointer())
                .position(element(x) * x.base().dataType().width());
    }

    /**
     * Whether arrays live in host memory and each is a whole FLOAT matrix or vector in c-order (offset 0, nothing
     * beyond it in its buffer): what a Java loop indexing the array's NIO buffer from 0 may take.
     */
    public static boolean wholeHostFloats(INDArray... arrays) {
        if (!host()) {
            return false;
        }
        for (INDArray a : arrays) {
            if (a.dataType() != DataType.FLOAT
                    || a.ordering() != 'c'
                    || a.offset() != 0
                    || a.data().length() != a.length()
                    || !a.isMatrix() && !a.isVector()) {
                return false;
            }
        }
        return true;
    }

    /** A rank-2 c-order FLOAT matrix whose rows follow each other with no gap (what oneDNN's dense descs read). */
    static boolean denseFloat(INDArray x) {
        return x.dataType() == DataType.FLOAT
                && x.rank() == 2
                && x.ordering() == 'c'
                && x.stride(1) == 1
                && (x.rows() == 1 || x.stride(0) == x.columns());
    }

    /** The address of an array's first element. */
    static Pointer address(INDArray x) {
        return address(new Block(x, 0, (int) x.columns()));
    }

    private static void check(Block x) {
        if (x.base().ordering() != 'c' || (x.base().rank() == 2 && x.base().stride(1) != 1)) {
            throw new IllegalArgumentException("Blas.gemm needs a c-order contiguous base array");
        }
    }
}
