package org.peft4j.adapters.model.llama;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Keys and values of every layer for generation, tokens-first like the projections: per layer (rows*capacity x
 * kvHeads*headDim), sequence b owning rows b*capacity onwards. Keys are stored after rotation.
 */
final class KvCache {
    private final INDArray[] keys;
    private final INDArray[] values;
    private final int capacity;

    KvCache(LlamaConfig c, int rows, int capacity, DataType type) {
        this.capacity = capacity;
        this.keys = new INDArray[c.numHiddenLayers()];
        this.values = new INDArray[c.numHiddenLayers()];
        for (int l = 0; l < keys.length; l++) {
            keys[l] = Nd4j.create(type, (long) rows * capacity, (long) c.numKeyValueHeads() * c.headDim());
            values[l] = Nd4j.create(type, (long) rows * capacity, (long) c.numKeyValueHeads() * c.headDim());
        }
    }

    int capacity() {
        return capacity;
    }

    INDArray keys(int layer) {
        return keys[layer];
    }

    INDArray values(int layer) {
        return values[layer];
    }

    /** Row block j becomes a copy of row block {@code sources[j]} (beam search keeps the beams it continues). */
    void reorder(int[] sources) {
        for (INDArray[] arrays : new INDArray[][] {keys, values}) {
            for (int l = 0; l < arrays.length; l++) {
                INDArray old = arrays[l].dup();
                for (int j = 0; j < sources.length; j++) {
                    arrays[l].get(rows(j)).assign(old.get(rows(sources[j])));
                }
            }
        }
    }

    private org.nd4j.linalg.indexing.INDArrayIndex[] rows(int block) {
        return new org.nd4j.linalg.indexing.INDArrayIndex[] {
            org.nd4j.linalg.indexing.NDArrayIndex.interval((long) block * capacity, (long) (block + 1) * capacity),
            org.nd4j.linalg.indexing.NDArrayIndex.all()
        };
    }
}
