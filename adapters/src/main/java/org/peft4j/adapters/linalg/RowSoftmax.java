package org.peft4j.adapters.linalg;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Softmax along the rows of a matrix and its backward, in place: attention's scores and the LM head's logits. With
 * the oneDNN backend ({@link Blas#backend()}) a dense FLOAT matrix goes through oneDNN's softmax primitives (5-9x
 * ND4J's ops on an 8192 x 512 matrix here, README "Measured"); anything else (DOUBLE in the gradient checks, views with
 * strides, the other backends) through ND4J's ops.
 */
public final class RowSoftmax {
    private RowSoftmax() {}

    /** x := softmax(x) row by row. */
    public static void forward(INDArray x) {
        if (Blas.backend() instanceof OneDnnGemm d && dense(x)) {
            d.softmax(address(x), x.rows(), x.columns());
        } else {
            Nd4j.exec(new SoftMax(x, x, 1));
        }
    }

    /**
     * With p = softmax(s) row by row and g = dL/dp: g := dL/ds = p * (g - rowsum(p * g)). {@code tmp} is a work
     * buffer of the same shape (the ND4J path writes p * g there).
     */
    public static void backward(INDArray p, INDArray g, INDArray tmp) {
        if (Blas.backend() instanceof OneDnnGemm d && dense(p) && dense(g) && p.equalShapes(g)) {
            d.softmaxBackward(address(p), address(g), g.rows(), g.columns());
        } else {
            INDArray rowSums = g.mul(p, tmp).sum(1).reshape(g.rows(), 1);
            g.subiColumnVector(rowSums).muli(p);
        }
    }

    /** A rank-2 c-order FLOAT matrix whose rows follow each other with no gap. */
    private static boolean dense(INDArray x) {
        return x.dataType() == DataType.FLOAT
                && x.rank() == 2
                && x.ordering() == 'c'
                && x.stride(1) == 1
                && (x.rows() == 1 || x.stride(0) == x.columns());
    }

    /** The first element's address (a view's data buffer already starts at the view's own offset). */
    private static Pointer address(INDArray x) {
        return new BytePointer(x.data().addressPointer())
                .position((x.offset() - x.data().offset()) * Float.BYTES);
    }
}
