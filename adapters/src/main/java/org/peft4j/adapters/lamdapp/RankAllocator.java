package org.peft4j.adapters.lamdapp;

import java.util.List;
import java.util.Map;

/** Chooses per-module ranks under a total budget, once, before training. */
public interface RankAllocator {

    /**
     * The spectrum facts an allocator may use for one target module.
     *
     * @param topSigma leading singular values, descending (at least as many as the largest rank allowed)
     * @param totalEnergy sum of all squared singular values (the squared Frobenius norm)
     * @param maxRank min(d_in, d_out)
     */
    record ModuleSpectrum(String path, double[] topSigma, double totalEnergy, int maxRank) {
        /** Normalised energy E(k) = sum_{i<=k} sigma_i^2 / sum_i sigma_i^2. */
        public double energy(int k) {
            double e = 0;
            for (int i = 0; i < Math.min(k, topSigma.length); i++) {
                e += topSigma[i] * topSigma[i];
            }
            return totalEnergy == 0 ? 0 : e / totalEnergy;
        }
    }

    /** Ranks by module path, summing to {@code budget} whenever the bounds allow it. */
    Map<String, Integer> allocate(List<ModuleSpectrum> modules, int budget);
}
