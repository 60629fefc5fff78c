package org.peft4j.adapters;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.peft4j.adapters.core.AdapterParam;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.core.AdapterSpec;
import org.peft4j.adapters.core.TargetLinear;
import org.peft4j.adapters.lamdapp.EnergyRankAllocator;
import org.peft4j.adapters.lamdapp.RankAllocator.ModuleSpectrum;
import org.peft4j.adapters.linalg.TruncatedSvd;
import org.peft4j.adapters.optim.AdamW;
import org.peft4j.adapters.registry.AdapterMethods;

/** SVD accuracy, LaMDA++ allocation, parameter counts, AdamW arithmetic and input validation. */
class LinalgAndAllocationTest {

    /** A matrix with known singular values: Q1 diag(s) Q2^T with orthonormal Q1, Q2. */
    private static INDArray withSpectrum(int m, int n, double[] s, long seed) {
        INDArray q1 = TruncatedSvd.compute(Fixtures.random(DataType.DOUBLE, m, s.length, seed), s.length, 0)
                .u();
        INDArray q2 = TruncatedSvd.compute(Fixtures.random(DataType.DOUBLE, n, s.length, seed + 1), s.length, 0)
                .u();
        return q1.mmul(Nd4j.diag(Nd4j.createFromArray(s))).mmul(q2.transpose());
    }

    @Test
    void exactAndRandomizedSvdRecoverTheLeadingSpectrum() {
        double[] s = new double[40];
        for (int i = 0; i < s.length; i++) {
            s[i] = Math.pow(0.8, i) * 10;
        }
        for (int[] shape : new int[][] {{120, 90}, {90, 120}, {700, 600}}) {
            INDArray w = withSpectrum(shape[0], shape[1], s, 3);
            TruncatedSvd.Result r = TruncatedSvd.compute(w, 8, 42);
            assertEquals(8, r.rank());
            for (int i = 0; i < 8; i++) {
                assertEquals(
                        s[i], r.sigma().getDouble(i), 1e-6 * s[0], "sigma " + i + " of " + shape[0] + "x" + shape[1]);
            }
            // U and V^T orthonormal and reproduce the rank-8 part.
            assertTrue(
                    r.u().transpose().mmul(r.u()).sub(Nd4j.eye(8)).amaxNumber().doubleValue() < 1e-8);
            assertTrue(r.vt().mmul(r.vt().transpose())
                            .sub(Nd4j.eye(8))
                            .amaxNumber()
                            .doubleValue()
                    < 1e-8);
            INDArray wr = r.u().mmul(Nd4j.diag(r.sigma().reshape(8))).mmul(r.vt());
            INDArray uw = r.u().transpose().mmul(w);
            assertTrue(uw.sub(Nd4j.diag(r.sigma().reshape(8)).mmul(r.vt()))
                            .amaxNumber()
                            .doubleValue()
                    < 1e-6);
            assertEquals(shape[0], wr.rows());
        }
        assertEquals(
                TruncatedSvd.compute(withSpectrum(700, 600, s, 3), 8, 42).u(),
                TruncatedSvd.compute(withSpectrum(700, 600, s, 3), 8, 42).u(),
                "deterministic for a seed");
    }

    @Test
    void energyAllocatorSpendsTheBudgetWithinBoundsAndFavoursConcentratedSpectra() {
        List<ModuleSpectrum> spectra = new ArrayList<>();
        // Module a: energy concentrated in few directions; c: flat spectrum.
        spectra.add(new ModuleSpectrum("a", new double[] {10, 5, 1, 1, 1, 1, 1, 1}, 140, 64));
        spectra.add(new ModuleSpectrum("b", new double[] {4, 4, 3, 3, 2, 2, 1, 1}, 120, 64));
        spectra.add(new ModuleSpectrum("c", new double[] {1, 1, 1, 1, 1, 1, 1, 1}, 64, 64));
        Map<String, Integer> ranks = new EnergyRankAllocator(2, 8).allocate(spectra, 12);
        assertEquals(12, ranks.values().stream().mapToInt(Integer::intValue).sum());
        ranks.values().forEach(r -> assertTrue(r >= 2 && r <= 8, "rank " + r + " outside [2, 8]"));
        assertTrue(ranks.get("a") > ranks.get("c"), ranks.toString());
        assertEquals(ranks, new EnergyRankAllocator(2, 8).allocate(spectra, 12), "deterministic");
        // Bounds win over the budget only when the budget cannot be met.
        Map<String, Integer> capped = new EnergyRankAllocator(1, 3).allocate(spectra, 30);
        assertEquals(Map.of("a", 3, "b", 3, "c", 3), capped);
    }

    @Test
    void lamdaPlusPlusKeepsTheTotalBudgetOnRealLayers() {
        List<TargetLinear> layers = new ArrayList<>();
        for (int l = 0; l < 3; l++) {
            for (String m : List.of("q_proj", "v_proj")) {
                layers.add(Fixtures.layer("model.layers." + l + ".self_attn." + m, 32, 32, DataType.FLOAT, 10 + l));
            }
        }
        // Make some layers low-rank-ish so ranks differ.
        layers.get(0)
                .weight()
                .assign(Fixtures.random(DataType.FLOAT, 32, 2, 1).mmul(Fixtures.random(DataType.FLOAT, 2, 32, 2)));
        AdapterSet set = org.peft4j.adapters.core.AdapterInjector.inject(
                layers,
                AdapterMethods.spec(
                        "lamda++", 4, null, List.of("q_proj", "v_proj"), 1, Map.of("r_min", "2", "r_max", "8")));
        assertEquals(
                24,
                set.ranks().values().stream().mapToInt(Integer::intValue).sum(),
                set.ranks().toString());
        assertEquals(
                8,
                set.ranks().get("model.layers.0.self_attn.q_proj"),
                set.ranks().toString());
        for (TargetLinear t : set.targets()) {
            assertEquals(1.0, t.adapter().scaling(), 1e-12, "LaMDA++ keeps s = alpha / r of the base rank");
        }
    }

    @Test
    void parameterCountsEqualTheFormulas() {
        int dIn = 20;
        int dOut = 12;
        int r = 4;
        Map<String, Long> expected = Map.of(
                "lora", (long) r * (dIn + dOut),
                "lamda", (long) r * r + (long) r * dOut,
                "neat", 2L * r * dOut);
        expected.forEach((method, perTarget) -> {
            AdapterSet set = Fixtures.inject(
                    new Fixtures.Case(method, Map.of()), Fixtures.layers(dIn, dOut, DataType.FLOAT, 1), r);
            assertEquals(2 * perTarget, set.trainableCount(), method);
        });
        AdapterSet deep = Fixtures.inject(
                new Fixtures.Case("neat", Map.of("depth", "6", "orientation", "columns")),
                Fixtures.layers(dIn, dOut, DataType.FLOAT, 1),
                r);
        assertEquals(2 * (2L * r * dIn + 4L * r * r), deep.trainableCount());
        AdapterSet lamda =
                Fixtures.inject(new Fixtures.Case("lamda", Map.of()), Fixtures.layers(dIn, dOut, DataType.FLOAT, 1), r);
        lamda.setTotalSteps(10);
        lamda.onStep(3);
        assertEquals(2L * r * r, lamda.trainableCount(), "after freezing: r^2 per target");
    }

    @Test
    void adamWMatchesHandComputedSteps() {
        INDArray w = Nd4j.createFromArray(new double[][] {{1.0, -2.0}});
        AdapterParam p = AdapterParam.trainable("w", w);
        AdamW opt = new AdamW(0.9, 0.999, 1e-8, 0.1);
        p.grad().assign(Nd4j.createFromArray(new double[][] {{0.5, -1.0}}));
        opt.step(Map.of("w", p), 0.01);
        // Step 1: m_hat = g, v_hat = g^2, so the update is lr * sign(g) (up to eps) after decay w *= 1 - lr wd.
        assertEquals(1.0 * (1 - 0.001) - 0.01, w.getDouble(0, 0), 1e-9);
        assertEquals(-2.0 * (1 - 0.001) + 0.01, w.getDouble(0, 1), 1e-9);
        assertEquals(0.0, p.grad().sumNumber().doubleValue(), "gradients cleared after the step");
        p.grad().assign(Nd4j.createFromArray(new double[][] {{0.5, -1.0}}));
        double w0 = w.getDouble(0, 0);
        opt.step(Map.of("w", p), 0.01);
        double m = 0.9 * 0.05 + 0.1 * 0.5;
        double v = 0.999 * 0.00025 + 0.001 * 0.25;
        double update = 0.01 * (m / (1 - 0.81)) / (Math.sqrt(v / (1 - 0.999 * 0.999)) + 1e-8);
        assertEquals(w0 * (1 - 0.001) - update, w.getDouble(0, 0), 1e-12);
    }

    /** The message of the error that parsing this spec gives. */
    private static String specError(String method, List<String> targets, Map<String, String> options) {
        return assertThrows(
                        IllegalArgumentException.class, () -> AdapterMethods.spec(method, 4, null, targets, 0, options))
                .getMessage();
    }

    @Test
    void badInputGetsClearErrors() {
        var rank = assertThrows(
                IllegalArgumentException.class,
                () -> Fixtures.inject(
                        new Fixtures.Case("lora", Map.of()), Fixtures.layers(8, 6, DataType.FLOAT, 1), 7));
        assertEquals(
                "module " + Fixtures.PATH + ": rank must be <= min(d_in, d_out) = 6 (d_in 8, d_out 6), found 7",
                rank.getMessage());
        String option = specError("lamda", List.of("q_proj"), Map.of("frezee", "paper"));
        assertTrue(option.startsWith("unknown lamda option 'frezee' (did you mean 'freeze'?)"), option);
        String value = specError("neat", List.of("q_proj"), Map.of("depth", "3"));
        assertEquals("depth: expected an even number >= 2, found 3", value);
        String target = specError("lora", List.of("q_prj"), Map.of());
        assertTrue(target.contains("unknown module 'q_prj' (did you mean 'q_proj'?)"), target);
        String init = specError("lamda", List.of("q_proj"), Map.of("init", "svd"));
        assertEquals("init: expected one of svd-residual, svd-zero, random, found 'svd'", init);
        var mismatch = assertThrows(
                IllegalArgumentException.class,
                () -> new AdapterSpec(
                        org.peft4j.adapters.lora.LoraMethod.INSTANCE,
                        4,
                        4,
                        List.of("q_proj"),
                        0,
                        org.peft4j.adapters.neat.NeatOptions.SET.parse(Map.of(), 4),
                        0.0,
                        null));
        assertEquals("options of method lora: expected LoraOptions, found NeatOptions", mismatch.getMessage());
    }
}
