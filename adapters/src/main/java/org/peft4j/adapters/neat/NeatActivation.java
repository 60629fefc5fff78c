package org.peft4j.adapters.neat;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.peft4j.adapters.core.KeyedOption;

/** The nonlinearity sigma of Neat's MLP and its derivative. */
public enum NeatActivation implements KeyedOption {
    /** max(0, x); default. */
    RELU {
        @Override
        public INDArray apply(INDArray p) {
            return Transforms.relu(p, true);
        }

        @Override
        public INDArray derivative(INDArray p) {
            return p.gt(0).castTo(p.dataType());
        }
    },
    /** sin(2 pi x). */
    SIN {
        @Override
        public INDArray apply(INDArray p) {
            return Transforms.sin(p.mul(TWO_PI), false);
        }

        @Override
        public INDArray derivative(INDArray p) {
            return Transforms.cos(p.mul(TWO_PI), false).muli(TWO_PI);
        }
    };

    private static final double TWO_PI = 2 * Math.PI;
    /** sigma(p) as a new array. */
    public abstract INDArray apply(INDArray p);

    /** sigma'(p) as a new array. */
    public abstract INDArray derivative(INDArray p);
}
