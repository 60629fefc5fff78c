package org.peft4j.adapters.linalg;

import java.lang.ref.Reference;
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
        if (Blas.backend() instanceof OneDnnGemm d && Blas.denseFloat(x)) {
            d.softmax(Blas.address(x), x.rows(), x.columns());
            Reference.reachabilityFence(x);
        } else {
            Nd4j.exec(new SoftMax(x, x, 1));
        }
    }

    /**
     * With p = softmax(s) row by row and g = dL/dp: g := dL/ds = p * (g - rowsum(p * g)). {@code tmp} is a work
     * buffer of the same shape (the ND4J path writes p * g there).
     */
    public static void backward(INDArray p, INDArray g, INDArray tmp) {
        if (Blas.backend() instanceof OneDnnGemm d && Blas.denseFloat(p) && Blas.denseFloat(g) && p.equalShapes(g)) {
            d.softmaxBackward(Blas.address(p), Blas.address(g), g.rows(), g.columns());
            Reference.reachabilityFence(p);
            Reference.reachabilityFence(g);
        } else {
            INDArray rowSums = g.mul(p, tmp).sum(1).reshape(g.rows(), 1);
            g.subiColumnVector(rowSums).muli(p);
        }
    }
}
