package org.peft4j.adapters.linalg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The LM head's packed copy multiplies like the plain weight, for every chunk height, and only where it applies. */
class PackedWeightTest {
    @Test
    void packedProductsEqualPlainProductsForEveryChunkHeight() {
        assumeTrue(HeadProducts.available(), "oneDNN with fast bf16 (packing applies only there)");
        Nd4j.getRandom().setSeed(7);
        INDArray w = Bf16.of(Nd4j.randn(DataType.FLOAT, 301, 67)); // vocab x d, odd on purpose
        PackedWeight p = PackedWeight.of(w);
        assertNotNull(p);
        assertSame(w, p.source());
        INDArray x = Bf16.of(Nd4j.randn(DataType.FLOAT, 19, 67));
        for (int rows : new int[] {19, 5, 1}) { // a full chunk and the shorter last ones
            INDArray packed = Nd4j.create(DataType.FLOAT, 19, 301).assign(-7);
            p.product(x, rows, packed);
            INDArray plain = Nd4j.create(DataType.FLOAT, rows, 301);
            Blas.gemm(
                    false,
                    true,
                    rows,
                    301,
                    67,
                    1.0,
                    new Blas.Block(x, 0, 67),
                    new Blas.Block(w, 0, 67),
                    0.0,
                    new Blas.Block(plain, 0, 301));
            for (int r = 0; r < 19; r++) {
                for (int c = 0; c < 301; c++) {
                    double want = r < rows ? plain.getDouble(r, c) : -7; // rows past the chunk left alone
                    assertEquals(want, packed.getDouble(r, c), 1e-5 * Math.max(1, Math.abs(want)), r + "," + c);
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> p.product(x, 20, Nd4j.create(DataType.FLOAT, 20, 301)));
        assertThrows(
                IllegalArgumentException.class,
                () -> p.product(x.castTo(DataType.FLOAT), 3, Nd4j.create(DataType.FLOAT, 19, 301)));
    }

    @Test
    void anFp32WeightOrAnotherBackendIsNotPacked() {
        assertNull(PackedWeight.of(Nd4j.rand(DataType.FLOAT, 8, 4)));
        GemmBackend before = Blas.use(OpenBlasGemm.INSTANCE);
        try {
            assertNull(PackedWeight.of(Bf16.of(Nd4j.rand(DataType.FLOAT, 8, 4))));
        } finally {
            Blas.use(before);
        }
    }
}
