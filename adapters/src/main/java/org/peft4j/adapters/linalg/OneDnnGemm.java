package org.peft4j.adapters.linalg;

import org.bytedeco.dnnl.engine;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.matmul;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.post_ops;
import org.bytedeco.dnnl.primitive_attr;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * oneDNN ({@code org.bytedeco:dnnl} 3.13, JavaCPP 1.5.14: its AMX bf16 kernels measured 1.2-1.5x 2.5.2's, the
 * version ND4J M2.1's JavaCPP 1.5.7 came with; README, "GEMM backends"). FLOAT through
 * {@code dnnl_sgemm} (row-major, like cblas: its AVX-512 kernels measured 2x OpenBLAS 0.3.19 on this machine);
 * BFLOAT16 x BFLOAT16 into FLOAT through a matmul primitive with AVX-512 BF16 (or AMX) instructions, created once
 * per shape, stride, transposition and (alpha, beta) and kept per thread; DOUBLE (gradient checks) through OpenBLAS.
 * Also row softmax forward and backward on FLOAT ({@link RowSoftmax}): oneDNN's AVX-512 kernels measured 5-9x
 * ND4J's ops on attention's scores; and swish, SwiGLU's activation, forward and backward ({@link Swish}).
 */
final class OneDnnGemm implements GemmBackend {
    private static volatile OneDnnGemm instance;
    private static volatile String loadError;

    private final engine cpu;

    /** Per thread: a stream and the primitives made so far, by shape key. */
    private final ThreadLocal<OneDnnPrimitives> perThread;

    private OneDnnGemm() {
        cpu = new engine(engine.kind.cpu, 0);
        perThread = ThreadLocal.withInitial(() -> new OneDnnPrimitives(cpu));
    }

    /** The backend, or null when oneDNN's native library does not load here. */
    static OneDnnGemm load() {
        if (instance == null) {
            synchronized (OneDnnGemm.class) {
                if (instance == null) {
                    try {
                        org.bytedeco.javacpp.Loader.load(dnnl.class);
                        instance = new OneDnnGemm();
                    } catch (Throwable t) {
                        loadError = t.toString();
                        return null;
                    }
                }
            }
        }
        return instance;
    }

    /** Why oneDNN did not load, or null. */
    static String loadError() {
        return loadError;
    }

    @Override
    public String name() {
        return "onednn";
    }

    @Override
    public String version() {
        org.bytedeco.dnnl.dnnl_version_t v = dnnl.dnnl_version();
        return v.major() + "." + v.minor() + "." + v.patch();
    }

    @Override
    public boolean bf16() {
        return true;
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
        DataType type = Blas.checkTypes(a, b, c, true);
        if (type == DataType.DOUBLE) {
            OpenBlasGemm.INSTANCE.gemm(transA, transB, m, n, k, alpha, a, b, beta, c);
            return;
        }
        if (a.base().dataType() == DataType.FLOAT) {
            int status = dnnl.dnnl_sgemm(
                    (byte) (transA ? 'T' : 'N'),
                    (byte) (transB ? 'T' : 'N'),
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
            if (status != dnnl.dnnl_success) {
                throw new IllegalStateException(
                        "dnnl_sgemm failed with status " + status + " for " + m + " x " + n + " x " + k);
            }
            return;
        }
        perThread.get().bf16(transA, transB, m, n, k, alpha, a, b, beta, c);
    }

    /** Whether the CPU oneDNN runs on has bf16 dot-product instructions (AVX512_BF16, or AMX). */
    boolean fastBf16() {
        int isa = dnnl.dnnl_get_effective_cpu_isa();
        return (isa & dnnl.dnnl_cpu_isa_avx512_core_bf16) == dnnl.dnnl_cpu_isa_avx512_core_bf16;
    }

    /**
     * Whether a batched product of bf16 operands, or fp32 ones with {@code f32}, with a broadcast addend (attention's
     * causal mask, {@link #batched}) gets a JIT kernel on this CPU rather than oneDNN's reference one (which oneDNN
     * 2.5 picked, ~1000x slower).
     */
    boolean broadcastAddendIsFast(boolean f32) {
        String[] impls = broadcastAddendImpl;
        int i = f32 ? 1 : 0;
        if (impls[i] == null) {
            memory.data_type operands = f32 ? memory.data_type.f32 : memory.data_type.bf16;
            memory.desc src = OneDnnPrimitives.strided(new long[] {2, 64, 64}, new long[] {4096, 64, 1}, operands);
            memory.desc dst =
                    OneDnnPrimitives.strided(new long[] {2, 64, 64}, new long[] {4096, 64, 1}, memory.data_type.f32);
            post_ops ops = new post_ops();
            ops.append_binary(dnnl.algorithm.binary_add, OneDnnPrimitives.broadcastAddend(64, 64));
            primitive_attr attr = new primitive_attr();
            attr.set_post_ops(ops);
            impls[i] = new matmul.primitive_desc(cpu, src, src, dst, attr, false)
                    .impl_info_str()
                    .getString();
        }
        return !impls[i].startsWith("ref");
    }

    /** The kernels {@link #broadcastAddendIsFast} found, bf16 and fp32 (a benign race: both threads find the same). */
    private final String[] broadcastAddendImpl = new String[2];

    /** {@code n} floats at {@code src} to bf16 at {@code dst}, rounded to nearest even (a reorder primitive). */
    void toBf16(Pointer src, Pointer dst, long n) {
        copy(new long[] {n}, new long[] {1}, DataType.FLOAT, src, new long[] {1}, DataType.BFLOAT16, dst);
    }

    /** {@code rows x cols} dense FLOATs at {@code x} := softmax of each row, in place. */
    void softmax(Pointer x, long rows, long cols) {
        perThread.get().softmax(rows, cols)[0].run(x);
    }

    /** With p = softmax(s) and g = dL/dp (dense {@code rows x cols} FLOATs): g := dL/ds, in place. */
    void softmaxBackward(Pointer p, Pointer g, long rows, long cols) {
        perThread.get().softmax(rows, cols)[1].run(p, g);
    }

    /**
     * For each i below {@code batch}: {@code c_i = alpha op(a_i) op(b_i) (+ add)} (or {@code c_i +=} with
     * {@code accumulate}), bf16 operands (fp32 ones with {@code f32}) into fp32, the batch outermost (a holds
     * {@code batch} row-major m x k matrices, or k x m ones when transposed, {@code strides[0]} elements apart; b and c
     * likewise, {@code strides[1]} and {@code strides[2]}); {@code add}, one dense fp32 m x n matrix that every c_i
     * adds, or null.
     */
    void batched(
            boolean f32,
            boolean transA,
            boolean transB,
            int batch,
            int m,
            int n,
            int k,
            double alpha,
            Pointer a,
            Pointer b,
            Pointer c,
            long[] strides,
            boolean accumulate,
            Pointer add) {
        OneDnnPrimitives.Bound p = perThread
                .get()
                .batched(new OneDnnPrimitives.Batched(
                        f32,
                        transA,
                        transB,
                        batch,
                        m,
                        n,
                        k,
                        (float) alpha,
                        add != null,
                        strides[0],
                        strides[1],
                        strides[2],
                        accumulate));
        if (add == null) {
            p.run(a, b, c);
        } else {
            p.run(a, b, c, add);
        }
    }

    /**
     * Copies the elements of a {@code dims}-shaped tensor between two strided layouts (strides in elements), FLOAT or
     * BFLOAT16 on each side (FLOAT to BFLOAT16 rounds to nearest even, flushing subnormals).
     */
    void copy(
            long[] dims,
            long[] srcStrides,
            DataType srcType,
            Pointer src,
            long[] dstStrides,
            DataType dstType,
            Pointer dst) {
        perThread
                .get()
                .copy(new OneDnnPrimitives.Copy(dims, srcStrides, srcType, dstStrides, dstType))
                .run(src, dst);
    }

    /**
     * A copy of the row-major bf16 {@code w} (n x k) in the blocked layout oneDNN's matmul reads fastest as the
     * right-hand side of {@code x w^T}: what {@link #packedProduct} multiplies by.
     */
    Packed pack(Pointer w, int n, int k) {
        OneDnnPrimitives t = perThread.get();
        memory.desc any =
                new memory.desc(new LongPointer(new long[] {k, n}), memory.data_type.bf16, memory.format_tag.any);
        memory.desc src = OneDnnPrimitives.strided(new long[] {1, k}, new long[] {k, 1}, memory.data_type.bf16);
        memory.desc dst = OneDnnPrimitives.strided(new long[] {1, n}, new long[] {n, 1}, memory.data_type.f32);
        memory.desc blocked = new matmul.primitive_desc(cpu, src, any, dst).weights_desc();
        memory plain = new memory(
                OneDnnPrimitives.strided(new long[] {k, n}, new long[] {1, k}, memory.data_type.bf16), cpu, w);
        memory packed = new memory(blocked, cpu);
        new reorder(plain, packed).execute(t.stream, plain, packed);
        t.stream._wait();
        return new Packed(packed, blocked, n, k);
    }

    /** {@code out = x w^T}: x dense bf16 (m x k), out dense fp32 (m x n), w as {@link #pack} made it. */
    void packedProduct(Packed w, int m, Pointer x, Pointer out) {
        perThread.get().packed(w, m).run(x, w.memory().get_data_handle(), out);
    }

    /** {@code n} dense FLOATs: y := x sigmoid(x). */
    void swish(Pointer x, Pointer y, long n) {
        perThread.get().swish(n)[0].run(x, y);
    }

    /** {@code n} dense FLOATs: d := d * swish'(x), in place. */
    void swishBackward(Pointer x, Pointer d, long n) {
        perThread.get().swish(n)[1].run(x, d);
    }

    /** A bf16 weight in oneDNN's blocked layout ({@link #pack}). */
    record Packed(memory memory, memory.desc desc, int n, int k) {}
}
