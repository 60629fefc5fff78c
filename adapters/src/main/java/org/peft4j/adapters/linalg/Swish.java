package org.peft4j.adapters.linalg;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.buffer.DataType;
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
        if (Blas.backend() instanceof OneDnnGemm d && dense(x) && dense(y) && x.length() == y.length()) {
            d.swish(address(x), address(y), x.length());
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
        if (Blas.backend() instanceof OneDnnGemm o && dense(x) && dense(d) && x.length() == d.length()) {
            o.swishBackward(address(x), address(d), x.length());
        } else {
            Nd4j.exec(new Sigmoid(x, tmp));
            d.muli(tmp);
            tmp.rsubi(1.0).muli(x).addi(1.0);
            d.muli(tmp);
        }
    }

    /** A c-order FLOAT array with no gaps (its elements are its buffer's, in order). */
    private static boolean dense(INDArray x) {
        return x.dataType() == DataType.FLOAT
                && x.ordering() == 'c'
                && x.rank() == 2
                && x.stride(1) == 1
                && (x.rows() == 1 || x.stride(0) == x.columns());
    }

    /** The first element's address (a view's data buffer already starts at the view's own offset). */
    private static Pointer address(INDArray x) {
        return new BytePointer(x.data().addressPointer())
                .position((x.offset() - x.data().offset()) * Float.BYTES);
    }
}
