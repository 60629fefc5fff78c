package org.peft4j.adapters.linalg;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_ATTR_MULTIPLE_POST_OP_BASE;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_ATTR_SCALES;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_FROM;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC_1;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_TO;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WEIGHTS;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.eltwise_backward;
import org.bytedeco.dnnl.eltwise_forward;
import org.bytedeco.dnnl.engine;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.matmul;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.post_ops;
import org.bytedeco.dnnl.primitive;
import org.bytedeco.dnnl.primitive_attr;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.dnnl.softmax_backward;
import org.bytedeco.dnnl.softmax_forward;
import org.bytedeco.dnnl.stream;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * One thread's oneDNN primitives for {@link OneDnnGemm}: a stream and every primitive made so far, by shape. Each is a
 * {@link Bound}: the primitive with memory objects that each call points at its own arrays.
 */
final class OneDnnPrimitives {
    /**
     * A primitive with its arguments, whose memory objects {@code bound} are pointed at each call's arrays, in the
     * order {@link #run} takes them.
     */
    record Bound(stream stream, primitive primitive, IntMemoryMap args, memory... bound) {
        void run(Pointer... data) {
            for (int i = 0; i < bound.length; i++) {
                bound[i].set_data_handle(data[i]);
            }
            primitive.execute(stream, args);
            stream._wait();
        }
    }

    record Shape(long rows, long cols) {}

    record PackedKey(OneDnnGemm.Packed weight, int m) {}

    /**
     * A batched product's shape: bf16 operands, or fp32 ones with {@code f32}; the strides are the elements from one
     * batch member's matrix to the next in a, b and c; {@code accumulate}, c += instead of c =.
     */
    record Batched(
            boolean f32,
            boolean transA,
            boolean transB,
            int batch,
            int m,
            int n,
            int k,
            float alpha,
            boolean add,
            long aStride,
            long bStride,
            long cStride,
            boolean accumulate) {}

    /** A strided copy's layouts; {@link #key()} compares them by content, as arrays are not. */
    record Copy(long[] dims, long[] srcStrides, DataType srcType, long[] dstStrides, DataType dstType) {
        String key() {
            return Arrays.toString(dims)
                    + Arrays.toString(srcStrides)
                    + srcType
                    + Arrays.toString(dstStrides)
                    + dstType;
        }
    }

    record Key(
            boolean transA, boolean transB, int m, int n, int k, int lda, int ldb, int ldc, float alpha, float beta) {}

    private final engine cpu;
    final stream stream;
    private final Map<Key, Bound> primitives = new HashMap<>();
    private final Map<Shape, Bound[]> softmaxes = new HashMap<>();
    private final Map<Long, Bound[]> swishes = new HashMap<>();
    private final Map<Batched, Bound> batched = new HashMap<>();
    private final Map<String, Bound> copies = new HashMap<>();
    private final Map<PackedKey, Bound> packedProducts = new HashMap<>();

    OneDnnPrimitives(engine cpu) {
        this.cpu = cpu;
        this.stream = new stream(cpu);
    }

    /**
     * A batched bf16 (or fp32) matmul (a, b, c) of shape {@code x}, or (a, b, c, add) with an addend of one m x n matrix that
     * every batch member adds. alpha goes in as the source's scale (a runtime argument, bound here once), which
     * scales the fp32 accumulator before the addend as an eltwise post-op would, at no cost measured, where the
     * post-op took a 16 x 512 x 512 x 64 product from 1.27 to 1.68 ms.
     */
    Bound batched(Batched x) {
        return batched.computeIfAbsent(x, y -> {
            long as = x.aStride();
            long bs = x.bStride();
            memory.data_type operands = x.f32() ? memory.data_type.f32 : memory.data_type.bf16;
            memory.desc src = strided(
                    new long[] {x.batch(), x.m(), x.k()},
                    x.transA() ? new long[] {as, 1, x.m()} : new long[] {as, x.k(), 1},
                    operands);
            memory.desc weights = strided(
                    new long[] {x.batch(), x.k(), x.n()},
                    x.transB() ? new long[] {bs, 1, x.k()} : new long[] {bs, x.n(), 1},
                    operands);
            memory.desc dst = strided(
                    new long[] {x.batch(), x.m(), x.n()}, new long[] {x.cStride(), x.n(), 1}, memory.data_type.f32);
            post_ops ops = new post_ops();
            if (x.accumulate()) {
                ops.append_sum(1f, 0, memory.data_type.undef);
            }
            // One m x n addend broadcast over the batch (a causal mask): brgemm on oneDNN 3.13, where 2.5 fell back
            // to its reference kernel; OneDnnGemm#broadcastAddendIsFast checks it on this CPU.
            memory.desc addend = x.add() ? broadcastAddend(x.m(), x.n()) : null;
            if (addend != null) {
                ops.append_binary(dnnl.algorithm.binary_add, addend);
            }
            return matmul(src, weights, dst, ops, addend, x.alpha());
        });
    }

    /** An m x n FLOAT matrix that every member of a batched product's dst adds. */
    static memory.desc broadcastAddend(int m, int n) {
        return strided(new long[] {1, m, n}, new long[] {(long) m * n, n, 1}, memory.data_type.f32);
    }

    /** x (m x k) times a packed weight: (x, out). */
    Bound packed(OneDnnGemm.Packed w, int m) {
        return packedProducts.computeIfAbsent(
                new PackedKey(w, m),
                key -> matmul(
                        strided(new long[] {m, w.k()}, new long[] {w.k(), 1}, memory.data_type.bf16),
                        w.desc(),
                        strided(new long[] {m, w.n()}, new long[] {w.n(), 1}, memory.data_type.f32),
                        new post_ops(),
                        null));
    }

    /**
     * A matmul primitive with post-ops {@code ops} whose memory objects are rebound each call:
     * {@code run(src, weights, dst)}, or {@code run(src, weights, dst, addend)} where the last of {@code ops} is a
     * binary post-op whose second input is laid out as {@code addend}.
     */
    private Bound matmul(memory.desc src, memory.desc weights, memory.desc dst, post_ops ops, memory.desc addend) {
        return matmul(src, weights, dst, ops, addend, 1f);
    }

    /** As above, the source scaled by {@code srcScale} (a runtime scale, bound once) unless it is 1. */
    private Bound matmul(
            memory.desc src, memory.desc weights, memory.desc dst, post_ops ops, memory.desc addend, float srcScale) {
        primitive_attr attr = new primitive_attr();
        if (ops.len() > 0) {
            attr.set_post_ops(ops);
        }
        if (srcScale != 1f) {
            attr.set_scales_mask(DNNL_ARG_SRC, 0);
        }
        matmul p = new matmul(new matmul.primitive_desc(cpu, src, weights, dst, attr, false));
        Pointer none = new Pointer();
        memory s = new memory(src, cpu, none);
        memory w = new memory(weights, cpu, none);
        memory d = new memory(dst, cpu, none);
        IntMemoryMap args = new IntMemoryMap();
        args.put(DNNL_ARG_SRC, s);
        args.put(DNNL_ARG_WEIGHTS, w);
        args.put(DNNL_ARG_DST, d);
        if (srcScale != 1f) {
            // The memory object owns its one float (allocated by oneDNN), so nothing on the Java side must outlive it.
            memory scale = new memory(
                    new memory.desc(new LongPointer(new long[] {1}), memory.data_type.f32, memory.format_tag.a), cpu);
            new FloatPointer(scale.get_data_handle()).put(0, srcScale);
            args.put(DNNL_ARG_ATTR_SCALES | DNNL_ARG_SRC, scale);
        }
        if (addend == null) {
            return new Bound(stream, p, args, s, w, d);
        }
        memory a = new memory(addend, cpu, none);
        // The second input of the last post-op, at index i = len - 1 (DNNL_ARG_ATTR_MULTIPLE_POST_OP(i)).
        args.put(DNNL_ARG_ATTR_MULTIPLE_POST_OP_BASE * ops.len() | DNNL_ARG_SRC_1, a);
        return new Bound(stream, p, args, s, w, d, a);
    }

    /** A strided copy (src, dst) as {@code x} describes it. */
    Bound copy(Copy x) {
        return copies.computeIfAbsent(x.key(), y -> {
            Pointer none = new Pointer();
            memory s = new memory(strided(x.dims(), x.srcStrides(), type(x.srcType())), cpu, none);
            memory d = new memory(strided(x.dims(), x.dstStrides(), type(x.dstType())), cpu, none);
            IntMemoryMap args = new IntMemoryMap();
            args.put(DNNL_ARG_FROM, s);
            args.put(DNNL_ARG_TO, d);
            return new Bound(stream, new reorder(s, d), args, s, d);
        });
    }

    static memory.desc strided(long[] dims, long[] strides, memory.data_type type) {
        return new memory.desc(new LongPointer(dims), type, new LongPointer(strides), false);
    }

    private static memory.data_type type(DataType t) {
        if (t == DataType.FLOAT) {
            return memory.data_type.f32;
        }
        if (t == DataType.BFLOAT16) {
            return memory.data_type.bf16;
        }
        throw new IllegalArgumentException("oneDNN copy: FLOAT or BFLOAT16, found " + t);
    }

    /** Forward (x, y) and backward (x, d) swish of length n. */
    Bound[] swish(long n) {
        return swishes.computeIfAbsent(n, x -> {
            memory.desc md =
                    new memory.desc(new LongPointer(new long[] {n}), memory.data_type.f32, memory.format_tag.a);
            // alpha = 1: x sigmoid(1 x), SiLU as LLaMA's MLP uses it.
            eltwise_forward.primitive_desc fpd = new eltwise_forward.primitive_desc(
                    cpu,
                    dnnl.prop_kind.forward_training,
                    dnnl.algorithm.eltwise_swish,
                    md,
                    md,
                    1f,
                    0f,
                    new primitive_attr(),
                    false);
            eltwise_backward.primitive_desc bpd = new eltwise_backward.primitive_desc(
                    cpu, dnnl.algorithm.eltwise_swish, md, md, md, 1f, 0f, fpd, new primitive_attr(), false);
            Pointer none = new Pointer();
            memory src = new memory(md, cpu, none);
            memory dst = new memory(md, cpu, none);
            memory diff = new memory(md, cpu, none);
            IntMemoryMap f = new IntMemoryMap();
            f.put(DNNL_ARG_SRC, src);
            f.put(DNNL_ARG_DST, dst);
            IntMemoryMap b = new IntMemoryMap();
            b.put(DNNL_ARG_SRC, src);
            b.put(DNNL_ARG_DIFF_DST, diff);
            b.put(DNNL_ARG_DIFF_SRC, diff); // in place
            return new Bound[] {
                new Bound(stream, new eltwise_forward(fpd), f, src, dst),
                new Bound(stream, new eltwise_backward(bpd), b, src, diff)
            };
        });
    }

    /** Forward (x, in place) and backward (p, g) row softmax of rows x cols. */
    Bound[] softmax(long rows, long cols) {
        return softmaxes.computeIfAbsent(new Shape(rows, cols), x -> {
            memory.desc md = new memory.desc(
                    new LongPointer(new long[] {rows, cols}), memory.data_type.f32, memory.format_tag.ab);
            softmax_forward.primitive_desc fpd = new softmax_forward.primitive_desc(
                    cpu,
                    dnnl.prop_kind.forward_training,
                    dnnl.algorithm.softmax_accurate,
                    md,
                    md,
                    1,
                    new primitive_attr(),
                    false);
            softmax_backward.primitive_desc bpd = new softmax_backward.primitive_desc(
                    cpu, dnnl.algorithm.softmax_accurate, md, md, md, 1, fpd, new primitive_attr(), false);
            Pointer none = new Pointer();
            memory data = new memory(md, cpu, none);
            memory diff = new memory(md, cpu, none);
            // In place: src and dst are one buffer, and so are diff_dst and diff_src.
            IntMemoryMap f = new IntMemoryMap();
            f.put(DNNL_ARG_SRC, data);
            f.put(DNNL_ARG_DST, data);
            IntMemoryMap b = new IntMemoryMap();
            b.put(DNNL_ARG_DST, data);
            b.put(DNNL_ARG_DIFF_DST, diff);
            b.put(DNNL_ARG_DIFF_SRC, diff);
            return new Bound[] {
                new Bound(stream, new softmax_forward(fpd), f, data),
                new Bound(stream, new softmax_backward(bpd), b, data, diff)
            };
        });
    }

    void bf16(
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
        Key key = new Key(transA, transB, m, n, k, a.ld(), b.ld(), c.ld(), (float) alpha, (float) beta);
        primitives.computeIfAbsent(key, this::create).run(Blas.address(a), Blas.address(b), Blas.address(c));
    }

    private Bound create(Key x) {
        memory.desc src = desc(x.m(), x.k(), x.lda(), x.transA(), memory.data_type.bf16);
        memory.desc weights = desc(x.k(), x.n(), x.ldb(), x.transB(), memory.data_type.bf16);
        memory.desc dst = desc(x.m(), x.n(), x.ldc(), false, memory.data_type.f32);
        post_ops ops = new post_ops();
        scale(ops, x.alpha());
        if (x.beta() != 0f) {
            ops.append_sum(x.beta(), 0, memory.data_type.undef);
        }
        return matmul(src, weights, dst, ops, null);
    }

    /**
     * {@code alpha} times the product, as the first post-op ({@code eltwise_linear}: alpha x + 0), before a sum or an
     * addend; nothing for 1. oneDNN 3 dropped 2.x's output scales, and its src scales are runtime arguments.
     */
    private static void scale(post_ops ops, float alpha) {
        if (alpha != 1f) {
            ops.append_eltwise(dnnl.algorithm.eltwise_linear, alpha, 0f);
        }
    }

    /** op(X) rows x cols of a row-major X with leading dimension ld (X itself cols x rows when transposed). */
    private static memory.desc desc(int rows, int cols, int ld, boolean trans, memory.data_type type) {
        long[] strides = trans ? new long[] {1, ld} : new long[] {ld, 1};
        return new memory.desc(new LongPointer(new long[] {rows, cols}), type, new LongPointer(strides), false);
    }
}
