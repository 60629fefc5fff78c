package org.peft4j.adapters.linalg;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Test inputs for the element-wise and row-wise kernels. */
final class TestMatrices {
    private TestMatrices() {}

    /** The values as a c-order matrix, or as rows 2.. of a taller one filled with 7 (a dense view with an offset). */
    static INDArray matrix(double[][] v, DataType type, boolean view) {
        int rows = v.length;
        int cols = v[0].length;
        INDArray whole = Nd4j.create(type, view ? rows + 3 : rows, cols).assign(7);
        INDArray x = view ? whole.get(NDArrayIndex.interval(2, 2 + rows), NDArrayIndex.all()) : whole;
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                x.putScalar(i, j, v[i][j]);
            }
        }
        return x;
    }
}
