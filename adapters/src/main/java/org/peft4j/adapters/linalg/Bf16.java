package org.peft4j.adapters.linalg;

import java.lang.ref.Reference;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.ShortPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * bfloat16 storage for the frozen base weights: conversions rounded to nearest even (as torch rounds), and whether
 * this CPU computes bf16 products fast.
 */
public final class Bf16 {
    private Bf16() {}

    /** Whether oneDNN runs here on a CPU with bf16 dot-product instructions (AVX512_BF16 or AMX). */
    public static boolean fastOnThisCpu() {
        OneDnnGemm dnnl = OneDnnGemm.load();
        return dnnl != null && dnnl.fastBf16();
    }

    /** The bf16 bits of {@code f}, rounded to nearest even; NaN stays NaN. */
    public static short bits(float f) {
        int x = Float.floatToRawIntBits(f);
        if ((x & 0x7fffffff) > 0x7f800000) {
            return (short) ((x >>> 16) | 0x40);
        }
        return (short) ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16);
    }

    /** The float value of bf16 bits (exact). */
    public static float value(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /**
     * {@code dst = bf16(src)}, both whole c-order arrays of one length: the hot path (activations before a bf16
     * product), through oneDNN's reorder where it loads, which rounds to nearest even and flushes subnormals (below
     * 1.2e-38) to zero.
     */
    public static void round(INDArray src, INDArray dst) {
        round(src, dst, OneDnnGemm.load() != null && Blas.host());
    }

    /**
     * {@code dst = bf16(src)} for the {@code dst.length()} elements of the whole c-order FLOAT {@code src} from element
     * {@code from} on (rows of a matrix, say), without copying them out first.
     */
    public static void round(INDArray src, long from, INDArray dst) {
        round(src, from, dst, dst.length());
    }

    /** As {@link #round(INDArray, long, INDArray)}, into only the first {@code count} elements of {@code dst}. */
    public static void round(INDArray src, long from, INDArray dst, long count) {
        if (src.dataType() != DataType.FLOAT
                || dst.dataType() != DataType.BFLOAT16
                || from < 0
                || count < 0
                || count > dst.length()
                || from + count > src.length()) {
            throw new IllegalArgumentException("Bf16.round: " + count + " FLOATs from element " + from + " of "
                    + src.dataType() + " " + src.length() + " into " + dst.dataType() + " " + dst.length());
        }
        requireWhole(src);
        convert(src, from, dst, count, OneDnnGemm.load() != null && Blas.host());
    }

    private static void round(INDArray src, INDArray dst, boolean dnnlPath) {
        if (src.dataType() != DataType.FLOAT || dst.dataType() != DataType.BFLOAT16 || src.length() != dst.length()) {
            throw new IllegalArgumentException("Bf16.round: FLOAT to BFLOAT16 of one length, found " + src.dataType()
                    + " " + src.length() + " -> " + dst.dataType() + " " + dst.length());
        }
        convert(src, 0, dst, dst.length(), dnnlPath);
    }

    /** dst's first {@code count} elements := bf16 of src's from element {@code from}, through oneDNN or in Java. */
    private static void convert(INDArray src, long from, INDArray dst, long count, boolean dnnlPath) {
        if (dnnlPath) {
            BytePointer at = address(src);
            OneDnnGemm.load().toBf16(at.position(at.position() + from * 4), address(dst), count);
        } else {
            FloatBuffer in = src.data().asNioFloat();
            ShortBuffer out =
                    dst.data().asNio().order(java.nio.ByteOrder.nativeOrder()).asShortBuffer();
            long offIn = src.offset() + from;
            long offOut = dst.offset();
            for (int i = 0; i < count; i++) {
                out.put((int) offOut + i, bits(in.get((int) offIn + i)));
            }
        }
        Reference.reachabilityFence(src); // the NIO views and pointers do not keep the arrays alive
        Reference.reachabilityFence(dst);
    }

    /**
     * A new BFLOAT16 array with {@code src}'s values rounded to nearest even, subnormals included, as torch's
     * {@code .to(torch.bfloat16)} (weights: not the hot path). {@code src} is copied as c-order first when needed.
     */
    public static INDArray of(INDArray src) {
        INDArray f = src.dataType() == DataType.FLOAT && src.ordering() == 'c' && !src.isView()
                ? src
                : src.castTo(DataType.FLOAT).dup('c');
        INDArray out = AlignedArrays.create(DataType.BFLOAT16, f.shape());
        round(f, out, false);
        return out;
    }

    /** A BFLOAT16 array of {@code shape} holding the given bits (e.g. straight from a BF16 safetensors file). */
    public static INDArray fromBits(short[] bits, long[] shape) {
        INDArray out = AlignedArrays.create(DataType.BFLOAT16, shape);
        new ShortPointer(out.data().addressPointer()).put(bits);
        return out;
    }

    private static BytePointer address(INDArray x) {
        requireWhole(x);
        return new BytePointer(x.data().addressPointer())
                .position(x.offset() * x.dataType().width());
    }

    private static void requireWhole(INDArray x) {
        if (x.ordering() != 'c' || x.isView()) {
            throw new IllegalArgumentException("Bf16.round needs whole c-order arrays");
        }
    }
}
