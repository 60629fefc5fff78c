package org.peft4j.adapters.linalg;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicLong;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.ShortPointer;
import org.bytedeco.javacpp.indexer.Bfloat16Indexer;
import org.bytedeco.javacpp.indexer.FloatIndexer;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Host arrays whose data start on a 64-byte boundary (a cache line, one AVX-512 register). ND4J's own host buffers
 * start 16 bytes past one, and oneDNN 2.5.2's GEMM kernels (the version used until 3.13) measured 1.2-2.1x faster on
 * the same product with 64-byte aligned operands and an fp32 destination, and on 3.13 the bf16 step ran 1.11x faster
 * (README, Measured), so the buffers the step multiplies (scratch, bf16 copies, frozen weights) come from here.
 *
 * <p>The memory belongs to the array's data buffer: the buffer holds the pointer, and the block is freed when the
 * garbage collector finds the pointer unreachable, so no view can outlive it. FLOAT and BFLOAT16 on host
 * backends; anything else (double for the gradient checks, arrays on a device) is an ordinary {@link Nd4j#create}.
 */
public final class AlignedArrays {
    /** Bytes the first element is aligned to. */
    public static final int ALIGNMENT = 64;

    private static volatile boolean enabled = true;

    private AlignedArrays() {}

    /**
     * Turns alignment off (arrays made after come from {@link Nd4j#create}) or back on; arrays already made keep
     * theirs. For {@code bench --ab aligned}, which builds and steps one model each way in one process.
     */
    public static void setEnabled(boolean on) {
        enabled = on;
    }

    public static boolean enabled() {
        return enabled;
    }

    /** A zero-filled c-order array of {@code shape}, 64-byte aligned where the type and backend allow. */
    public static INDArray create(DataType type, long... shape) {
        if (!enabled || !Blas.host() || (type != DataType.FLOAT && type != DataType.BFLOAT16)) {
            return Nd4j.create(type, shape);
        }
        long length = 1;
        for (long s : shape) {
            length = Math.multiplyExact(length, s);
        }
        DataBuffer data;
        if (type == DataType.FLOAT) {
            FloatPointer p = new AlignedFloats(Math.max(length, 1));
            data = Nd4j.createBuffer(p, type, length, FloatIndexer.create(p));
        } else {
            ShortPointer p = new AlignedShorts(Math.max(length, 1));
            data = Nd4j.createBuffer(p, type, length, Bfloat16Indexer.create(p));
        }
        return Nd4j.create(data, shape);
    }

    /**
     * A c-order copy of {@code x} (of any order, or a view) made by {@link #create}: for weights read or drawn by
     * ND4J, copied once at load.
     */
    public static INDArray copyOf(INDArray x) {
        return create(x.dataType(), x.shape()).assign(x);
    }

    /** Whether {@code x}'s first element sits on a 64-byte boundary. */
    public static boolean aligned(INDArray x) {
        long address =
                x.data().addressPointer().address() + x.offset() * x.dataType().width();
        return address % ALIGNMENT == 0;
    }

    /** Bytes held by aligned arrays not yet freed (what the cleaner has still to return). */
    public static long liveBytes() {
        return LIVE.get();
    }

    private static final Cleaner CLEANER = Cleaner.create();
    private static final AtomicLong LIVE = new AtomicLong();

    /**
     * Points {@code p} at a fresh zeroed block of {@code bytes} from malloc, 64 more so that an aligned start fits,
     * and has the block freed once {@code p} is unreachable. A {@link Cleaner} rather than JavaCPP's deallocator, so
     * that these buffers stay outside JavaCPP's {@code maxbytes} count as ND4J's own are (a 7B model's weights would
     * otherwise need a cap above their size); hence also no allocation-triggered GC: for long-lived buffers only.
     */
    private static long allocate(Pointer p, long bytes) {
        Pointer raw = Pointer.malloc(bytes + ALIGNMENT);
        if (raw == null || raw.isNull()) {
            throw new OutOfMemoryError("malloc of " + (bytes + ALIGNMENT) + " bytes for an aligned array failed");
        }
        Pointer.memset(raw, 0, bytes + ALIGNMENT);
        LIVE.addAndGet(bytes + ALIGNMENT);
        CLEANER.register(p, new Free(raw, bytes + ALIGNMENT));
        return (raw.address() + ALIGNMENT - 1) & -ALIGNMENT;
    }

    /** Frees the raw block; refers to nothing that keeps the aligned pointer reachable. */
    private record Free(Pointer raw, long bytes) implements Runnable {
        @Override
        public void run() {
            Pointer.free(raw);
            LIVE.addAndGet(-bytes);
        }
    }

    private static final class AlignedFloats extends FloatPointer {
        AlignedFloats(long length) {
            address = allocate(this, length * Float.BYTES);
            capacity = length;
            limit = length;
        }
    }

    private static final class AlignedShorts extends ShortPointer {
        AlignedShorts(long length) {
            address = allocate(this, length * Short.BYTES);
            capacity = length;
            limit = length;
        }
    }
}
