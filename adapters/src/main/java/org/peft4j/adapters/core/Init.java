package org.peft4j.adapters.core;

import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.linalg.RandomMatrix;

/**
 * Deterministic initialisers. They draw from a {@link SplittableRandom} seeded per module, not ND4J's global RNG, so
 * the same seed gives the same adapters on every executor and in every run.
 */
public final class Init {
    private Init() {}

    /** A generator for one module: the run seed mixed with the module path. */
    public static SplittableRandom forModule(long seed, String path) {
        return new SplittableRandom(seed * 0x9E3779B97F4A7C15L + path.hashCode());
    }

    /** The seed of one module's randomized SVD (initialisations from W0's singular vectors). */
    public static long svdSeed(long seed, String path) {
        return seed ^ path.hashCode();
    }

    /**
     * Kaiming-uniform as PyTorch's {@code nn.Linear} and PEFT's LoRA A use it ({@code a = sqrt(5)}): bound = 1 /
     * sqrt(fanIn).
     */
    public static INDArray kaimingUniform(DataType type, long rows, long cols, long fanIn, SplittableRandom rng) {
        return RandomMatrix.uniform(type, rows, cols, 1.0 / Math.sqrt(fanIn), rng);
    }
}
