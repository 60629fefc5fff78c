package org.peft4j.adapters.model.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.core.AdapterInjector;
import org.peft4j.adapters.core.AdapterParam;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.linalg.RandomMatrix;
import org.peft4j.adapters.model.TokenBatch;
import org.peft4j.adapters.registry.AdapterMethods;

/**
 * A pass that does not train (evaluation, scoring, generation) keeps nothing for backward, so its layers share one
 * set of output buffers: the model's work memory does not grow with its depth, and the results are those of a
 * training pass, bit for bit.
 */
class ForwardOnlyBuffersTest {
    enum Stored {
        FLOAT,
        BFLOAT16
    }

    private static final int HIDDEN = 64;
    private static final int ROWS = 3;
    private static final int LENGTH = 10;

    private static LlamaModel model(int layers, Stored stored) {
        // GQA (4 query heads over 2 key/value heads), SwiGLU 96.
        LlamaConfig c = LlamaConfig.llama(HIDDEN, 96, layers, 4, 2, 16, 50, false, 1e-5, 10000.0, 64);
        LlamaModel m = new LlamaModel(LlamaWeights.random(c, 7, DataType.valueOf(stored.name())));
        AdapterSet set = AdapterInjector.inject(
                m.linears(), AdapterMethods.spec("lora", 4, 8.0, LlamaModelTrainingTest.ALL, 11L, Map.of()));
        SplittableRandom rng = new SplittableRandom(3);
        for (AdapterParam p : set.trainable().values()) { // B off zero, so that the adapters change the outputs
            p.value()
                    .addi(RandomMatrix.gaussian(p.value().dataType(), p.rows(), p.columns(), rng)
                            .muli(0.1));
        }
        return m;
    }

    private static TokenBatch batch() {
        SplittableRandom rng = new SplittableRandom(5);
        int[] ids = new int[ROWS * LENGTH];
        int[] mask = new int[ROWS * LENGTH];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = 1 + rng.nextInt(49);
            mask[i] = i % LENGTH < LENGTH - i / LENGTH ? 1 : 0; // rows padded by 0, 1 and 2 tokens
        }
        return new TokenBatch(ROWS, LENGTH, ids, mask, null, null);
    }

    @ParameterizedTest
    @EnumSource(Stored.class)
    void aForwardOnlyPassHoldsOneLayersOutputsWhateverTheDepth(Stored stored) {
        long activation = (long) ROWS * LENGTH * HIDDEN * Float.BYTES;
        long[] inference = new long[2];
        long[] training = new long[2];
        int[] depths = {2, 6};
        for (int i = 0; i < 2; i++) {
            LlamaModel forwardOnly = model(depths[i], stored);
            forwardOnly.forward(batch(), false);
            inference[i] = forwardOnly.activationBytes();
            LlamaModel trained = model(depths[i], stored);
            trained.forward(batch(), true);
            training[i] = trained.activationBytes();
        }
        // Four more layers add at most their norms' 1/rms columns (2 x 30 floats each): less than one activation.
        assertTrue(
                inference[1] - inference[0] < activation,
                "forward only: 2 layers " + inference[0] + " B, 6 layers " + inference[1] + " B");
        // A training pass keeps each layer's x2, output, q, k, v, gate and up (and LoRA's inputs): the count sees it.
        assertTrue(
                training[1] - training[0] >= 4 * 5 * activation,
                "training: 2 layers " + training[0] + " B, 6 layers " + training[1] + " B");
    }

    @ParameterizedTest
    @EnumSource(Stored.class)
    void aForwardOnlyPassComputesWhatATrainingPassDoes(Stored stored) {
        LlamaModel m = model(5, stored);
        INDArray trained = m.forward(batch(), true).dup();
        INDArray forwardOnly = m.forward(batch(), false).dup();
        INDArray again = m.forward(batch(), false).dup();
        // Bit for bit (INDArray.equals would allow a tolerance).
        assertArrayEquals(trained.data().asFloat(), forwardOnly.data().asFloat(), "forward only against training");
        assertArrayEquals(forwardOnly.data().asFloat(), again.data().asFloat(), "a second forward-only pass");
    }
}
