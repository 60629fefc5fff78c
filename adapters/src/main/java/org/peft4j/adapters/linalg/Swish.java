package org.peft4j.adapters.linalg;

import java.lang.ref.Reference;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Sigmoid;
import org.nd4j.linalg.factory.Nd4j;

/**
 * swish(x) = x sigmoid(x) (SiLU, SwiGLU's activation) and its backward, element-wise. With the oneDNN backend
 * ({@link Blas#backend()}) dense FLOAT arrays go through oneDNN's eltwise primitives, one pass each; anything else
 * (DOUBLE in the gradient checks, the other backends) through ND4J's ops (two and five passes).
 */
public final class Swish {
    private Swish() {}

    /** y := x sigmoid(x); y is another array than x. */
    public static void forward(INDArray x, INDArray y) {
        if (x == y) {
            throw new IllegalArgumentException("Swish.forward writes y while reading x: give another array");
        }
        if (Blas.backend() instanceof OneDnnGemm d
                && Blas.denseFloat(x)
                && Blas.denseFloat(y)
                && x.length() == y.length()) {
            d.swish(Blas.address(x), Blas.address(y), x.length());
            Reference.reachabilityFence(x);
            Reference.reachabilityFence(y);
        } else {
            Nd4j.exec(new Sigmoid(x, y));
            y.muli(x);
        }
    }

    /**
     * d := d * swish'(x), swish'(x) = s (1 + x (1 - s)) with s = sigmoid(x). {@code tmp} is a work buffer shaped like
     * x (the ND4J path writes there).
     */
    public static void backward(INDArray x, INDArray d, INDArray tmp) {
        if (Blas.backend() instanceof OneDnnGemm o
                && Blas.denseFloat(x)
                && Blas.denseFloat(d)
                && x.length() == d.length()) {
            o.swishBackward(Blas.address(x), Blas.address(d), x.length());
            Reference.reachabilityFence(x);
            Reference.reachabilityFence(d);
        } else {
            Nd4j.exec(new Sigmoid(x, tmp));
            d.muli(tmp);
            tmp.rsubi(1.0).muli(x).addi(1.0);
            d.muli(tmp);
        }
    }
}
