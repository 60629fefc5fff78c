package org.peft4j.adapters.linalg;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.peft4j.adapters.core.Scratch;
import org.peft4j.adapters.model.llama.LlamaConfig;
import org.peft4j.adapters.model.llama.LlamaWeights;

/**
 * 64-byte aligned host arrays: aligned and zeroed on every shape, indistinguishable from ND4J's own arrays in what
 * ops, views and products compute, alive while any view is, and freed once nothing refers to them.
 */
class AlignedArraysTest {
    @ParameterizedTest(name = "{0} {1}x{2}")
    @CsvSource({"FLOAT,1,1", "FLOAT,7,13", "FLOAT,333,1001", "BFLOAT16,1,3", "BFLOAT16,129,67"})
    void startsOnA64ByteBoundaryZeroed(DataType type, int rows, int cols) {
        for (int i = 0; i < 20; i++) {
            INDArray x = AlignedArrays.create(type, rows, cols);
            assertTrue(AlignedArrays.aligned(x), type + " " + rows + "x" + cols + " #" + i);
            assertArrayEquals(new long[] {rows, cols}, x.shape());
            assertEquals('c', x.ordering());
            assertEquals(type, x.dataType());
            assertEquals(0.0, x.castTo(DataType.DOUBLE).amaxNumber().doubleValue(), 0.0);
        }
    }

    @Test
    void otherTypesAreOrdinaryArrays() {
        INDArray d = AlignedArrays.create(DataType.DOUBLE, 5, 3);
        assertEquals(DataType.DOUBLE, d.dataType());
        assertArrayEquals(new long[] {5, 3}, d.shape());
        assertEquals(0.0, d.amaxNumber().doubleValue(), 0.0);
    }

    @Test
    void opsViewsAndProductsComputeWhatOrdinaryArraysDo() {
        INDArray a = Nd4j.rand(DataType.FLOAT, 37, 29).subi(0.5);
        INDArray b = Nd4j.rand(DataType.FLOAT, 29, 41).subi(0.5);
        INDArray alignedA = AlignedArrays.copyOf(a);
        INDArray alignedB = AlignedArrays.copyOf(b);
        assertTrue(AlignedArrays.aligned(alignedA) && AlignedArrays.aligned(alignedB));
        assertEquals(a, alignedA);

        INDArray c = Nd4j.create(DataType.FLOAT, 37, 41);
        INDArray alignedC = AlignedArrays.create(DataType.FLOAT, 37, 41);
        Gemm.set(c, a, false, b, false);
        Gemm.set(alignedC, alignedA, false, alignedB, false);
        assertEquals(c, alignedC, "the same product, bit for bit");

        alignedA.muli(2).addi(1);
        a.muli(2).addi(1);
        assertEquals(a, alignedA);
        INDArray rows = alignedA.get(NDArrayIndex.interval(3, 9), NDArrayIndex.all());
        rows.assign(-4);
        assertEquals(-4f, alignedA.getFloat(5, 7), 0f);
        assertEquals(a.getFloat(2, 7), alignedA.getFloat(2, 7), 0f);
        assertEquals(
                alignedA.sumNumber().doubleValue(), alignedA.dup().sumNumber().doubleValue(), 0.0);
    }

    @Test
    void copyOfATransposedViewIsItsCOrderCopy() {
        INDArray w = Nd4j.rand(DataType.FLOAT, 11, 23);
        INDArray t = AlignedArrays.copyOf(w.transpose());
        assertTrue(AlignedArrays.aligned(t));
        assertEquals('c', t.ordering());
        assertEquals(w.transpose().dup('c'), t);
        assertEquals(
                w.transpose().dup('c'),
                AlignedArrays.copyOf(w.transpose().castTo(DataType.DOUBLE)).castTo(DataType.FLOAT));
    }

    @Test
    void bf16RoundingIntoAnAlignedArrayIsRoundToNearestEven() {
        INDArray x =
                AlignedArrays.copyOf(Nd4j.rand(DataType.FLOAT, 9, 130).subi(0.5).muli(1e3));
        INDArray r = AlignedArrays.create(DataType.BFLOAT16, 9, 130);
        Bf16.round(x, r);
        for (int i = 0; i < 9; i++) {
            for (int j = 0; j < 130; j++) {
                assertEquals(Bf16.value(Bf16.bits(x.getFloat(i, j))), r.getFloat(i, j), 0f, "[" + i + "," + j + "]");
            }
        }
        assertTrue(AlignedArrays.aligned(Bf16.of(x)));
    }

    @Test
    void memoryLivesAsLongAsAnyViewAndIsReleasedAfter() throws InterruptedException {
        INDArray base = AlignedArrays.create(DataType.FLOAT, 64, 1024);
        WeakReference<Pointer> owner = new WeakReference<>(base.data().pointer());
        INDArray view = base.get(NDArrayIndex.interval(40, 41), NDArrayIndex.all());
        for (int j = 0; j < view.columns(); j++) {
            view.putScalar(0, j, 3.5f + j);
        }
        base = null;
        for (int i = 0; i < 5; i++) {
            System.gc();
            List<INDArray> churn = new ArrayList<>();
            for (int k = 0; k < 8; k++) {
                churn.add(AlignedArrays.create(DataType.FLOAT, 256, 1024).assign(k)); // would reuse freed memory
            }
            Thread.sleep(20);
        }
        assertNotNull(owner.get(), "the block's owner is reachable through the view");
        for (int j = 0; j < view.columns(); j++) {
            assertEquals(3.5f + j, view.getFloat(0, j), 0f, "column " + j);
        }
        view = null;
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (owner.get() != null && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(20);
        }
        assertNull(owner.get(), "nothing refers to the block once the view is gone");
    }

    @Test
    void unreachableArraysAreFreed() throws InterruptedException {
        long before = AlignedArrays.liveBytes();
        long bytes = 64L << 20;
        allocate(bytes);
        assertTrue(AlignedArrays.liveBytes() >= before + bytes, "counted while alive");
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (AlignedArrays.liveBytes() > before + bytes / 2 && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(50);
        }
        assertTrue(
                AlignedArrays.liveBytes() <= before + bytes / 2,
                "freed: " + (AlignedArrays.liveBytes() - before) + " bytes still held of " + bytes);
    }

    private static void allocate(long bytes) {
        List<INDArray> held = new ArrayList<>();
        for (long n = 0; n < bytes; n += 4L << 20) {
            held.add(AlignedArrays.create(DataType.FLOAT, 1024, 1024));
        }
        assertEquals(bytes / (4L << 20), held.size());
    }

    @Test
    void scratchAndModelWeightsAreAligned() {
        Scratch s = new Scratch(DataType.FLOAT);
        assertTrue(AlignedArrays.aligned(s.get("x", 5, 77)));
        assertTrue(AlignedArrays.aligned(s.get("x16", 5, 77, DataType.BFLOAT16)));
        LlamaConfig c = LlamaConfig.llama(64, 96, 2, 4, 2, 16, 101, false, 1e-5, 10000.0, 64);
        for (DataType type : List.of(DataType.FLOAT, DataType.BFLOAT16)) {
            LlamaWeights w = LlamaWeights.random(c, 3, type);
            w.layers()
                    .forEach(l -> l.linears().forEach((m, x) -> assertTrue(AlignedArrays.aligned(x), type + " " + m)));
            assertTrue(AlignedArrays.aligned(w.embed()), type + " embedding");
        }
    }
}
