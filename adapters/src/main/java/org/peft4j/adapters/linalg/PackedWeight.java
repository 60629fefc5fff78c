package org.peft4j.adapters.linalg;

import java.lang.ref.Reference;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A frozen bf16 weight W (n x k, row-major) also held in the blocked layout oneDNN's matmul reads fastest, for
 * products {@code x W^T}. Given W as it is stored, oneDNN re-blocks it inside every call, which costs most when W is
 * wide and x has few rows: the LM head (32000 x 1024) against a 256-row chunk of the loss ran 1.3-2.2x faster
 * packed (measured). The price is a second copy of W, so only the LM head is packed, not the layers' weights.
 */
public final class PackedWeight {
    private final INDArray source;
    private final OneDnnGemm.Packed packed;

    private PackedWeight(INDArray source, OneDnnGemm.Packed packed) {
        this.source = source;
        this.packed = packed;
    }

    /**
     * W packed, or null where packing does not apply: W not BFLOAT16, or no oneDNN with fast bf16 here
     * ({@link HeadProducts#available()}).
     */
    public static PackedWeight of(INDArray w) {
        if (w.dataType() != DataType.BFLOAT16 || w.rank() != 2 || !HeadProducts.available()) {
            return null;
        }
        if (w.ordering() != 'c' || w.stride(1) != 1 || w.stride(0) != w.columns()) {
            throw new IllegalArgumentException(
                    "PackedWeight: a dense row-major weight, found " + w.shapeInfoToString());
        }
        OneDnnGemm d = (OneDnnGemm) Blas.backend();
        return new PackedWeight(w, d.pack(Blas.address(w), (int) w.rows(), (int) w.columns()));
    }

    /** The weight this packs (its plain copy, which stays in use elsewhere). */
    public INDArray source() {
        return source;
    }

    /** Rows {@code [0, rows)} of {@code out} (dense FLOAT, n columns) := the first rows of x (dense BFLOAT16) W^T. */
    public void product(INDArray x, int rows, INDArray out) {
        if (x.dataType() != DataType.BFLOAT16
                || x.columns() != packed.k()
                || x.rows() < rows
                || !Blas.denseFloat(out)
                || out.columns() != packed.n()
                || out.rows() < rows
                || x.ordering() != 'c'
                || x.stride(0) != x.columns()) {
            throw new IllegalArgumentException("PackedWeight.product: " + rows + " rows of a dense BFLOAT16 x "
                    + packed.k() + " into FLOAT x " + packed.n() + ", found " + x.shapeInfoToString() + " and "
                    + out.shapeInfoToString());
        }
        OneDnnGemm d = (OneDnnGemm) Blas.backend();
        d.packedProduct(packed, rows, Blas.address(x), Blas.address(out));
        Reference.reachabilityFence(x);
        Reference.reachabilityFence(out);
        Reference.reachabilityFence(this);
    }
}
