package org.peft4j.adapters.model.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.core.AdapterInjector;
import org.peft4j.adapters.core.AdapterParam;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.core.AdapterSpec;
import org.peft4j.adapters.core.TargetLinear;
import org.peft4j.adapters.linalg.RandomMatrix;
import org.peft4j.adapters.linalg.TruncatedSvd;
import org.peft4j.adapters.model.LossSum;
import org.peft4j.adapters.model.TokenBatch;
import org.peft4j.adapters.optim.Sgd;
import org.peft4j.adapters.registry.AdapterMethods;
import org.peft4j.adapters.train.LocalTrainer;

/**
 * What the recipes users copy rely on, on the whole model in double precision: gradient accumulation over micro-batches,
 * global-norm clipping, adapter dropout, per-layer targeting and PiSSA's initialisation.
 */
class TrainerFeaturesTest {
    private static final List<String> ALL = LlamaModelTrainingTest.ALL;

    /** Four rows with 3, 1, 4 and 2 scored tokens: a plain mean over rows would weigh them wrongly. */
    static TokenBatch fourRows() {
        int[] ids = {1, 5, 9, 13, 7, 22, 1, 4, 8, 3, 0, 0, 1, 2, 3, 4, 5, 6, 1, 9, 9, 2, 0, 0};
        int[] mask = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
        int[] labels = {
            -100, -100, 9, 13, 7, -100, -100, -100, -100, 3, -100, -100, -100, -100, 3, 4, 5, 6, -100, -100, 9, 2, -100,
            -100
        };
        return new TokenBatch(4, 6, ids, mask, labels, null);
    }

    /** Rows [from, to) of a batch. */
    static TokenBatch rows(TokenBatch b, int from, int to) {
        int l = b.length();
        return new TokenBatch(
                to - from,
                l,
                Arrays.copyOfRange(b.inputIds(), from * l, to * l),
                Arrays.copyOfRange(b.attentionMask(), from * l, to * l),
                Arrays.copyOfRange(b.labels(), from * l, to * l),
                null);
    }

    private static LlamaModel model() {
        LlamaConfig c = LlamaModelTrainingTest.small();
        return new LlamaModel(LlamaModelTrainingTest.weights(c, DataType.DOUBLE));
    }

    private static AdapterSet inject(LlamaModel model, String method, double dropout, List<Integer> layers) {
        AdapterSpec spec =
                AdapterMethods.spec(method, 2, 4.0, ALL, 11L, Map.of()).withDropoutAndLayers(dropout, layers);
        AdapterSet set = AdapterInjector.inject(model.linears(), spec);
        SplittableRandom rng = new SplittableRandom(3);
        for (AdapterParam p : set.trainable().values()) {
            // Off the zero initialisations, so that every tensor has a gradient.
            p.value()
                    .addi(RandomMatrix.gaussian(DataType.DOUBLE, p.rows(), p.columns(), rng)
                            .muli(0.3));
        }
        return set;
    }

    private static Map<String, INDArray> values(AdapterSet set) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        set.trainable().forEach((k, p) -> out.put(k, p.value().dup()));
        return out;
    }

    private static Map<String, INDArray> grads(AdapterSet set) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        set.trainable().forEach((k, p) -> out.put(k, p.grad().dup()));
        return out;
    }

    private static double maxDiff(Map<String, INDArray> a, Map<String, INDArray> b) {
        double d = 0;
        for (String k : a.keySet()) {
            d = Math.max(d, a.get(k).sub(b.get(k)).amaxNumber().doubleValue());
        }
        return d;
    }

    @ParameterizedTest
    @ValueSource(strings = {"lora", "lamda", "neat"})
    void microBatchesAccumulateToTheWholeBatchStep(String method) {
        TokenBatch whole = fourRows();
        // The same initial adapters in two models: one steps on the batch, the other on its micro-batches.
        LlamaModel m1 = model();
        AdapterSet s1 = inject(m1, method, 0, null);
        LlamaModel m2 = model();
        AdapterSet s2 = inject(m2, method, 0, null);
        assertEquals(0, maxDiff(values(s1), values(s2)));
        LocalTrainer t1 = new LocalTrainer(m1, s1, null, new Sgd(), null);
        LocalTrainer t2 = new LocalTrainer(m2, s2, null, new Sgd(), null);
        for (int step = 0; step < 3; step++) {
            LocalTrainer.StepResult a = t1.step(List.of(whole), step, 0.05, 7);
            List<TokenBatch> micro = step == 1
                    ? List.of(rows(whole, 0, 1), rows(whole, 1, 2), rows(whole, 2, 3), rows(whole, 3, 4))
                    : List.of(rows(whole, 0, 2), rows(whole, 2, 4));
            LocalTrainer.StepResult b = t2.step(micro, step, 0.05, 7);
            assertEquals(10, a.loss().count(), "scored tokens of the batch");
            assertEquals(a.loss().count(), b.loss().count());
            assertEquals(a.loss().mean(), b.loss().mean(), 1e-12);
            assertEquals(a.gradNorm(), b.gradNorm(), 1e-12 * a.gradNorm());
            // SGD: equal updates are equal gradients (the optimizer clears them after the step).
            assertTrue(maxDiff(values(s1), values(s2)) < 1e-12, method + " step " + step);
        }
        // A plain mean of the micro-batches' mean losses is a different step: the weighting matters here.
        double rowsWeighted = 0;
        for (TokenBatch b : List.of(rows(whole, 0, 2), rows(whole, 2, 4))) {
            rowsWeighted += 0.5 * t1.evaluate(b).mean();
        }
        assertNotEquals(t1.evaluate(whole).mean(), rowsWeighted, 1e-6);
    }

    @Test
    void clippingScalesTheGlobalNormAsTorchDoes() {
        TokenBatch batch = fourRows();
        LlamaModel m0 = model();
        AdapterSet s0 = inject(m0, "lora", 0, null);
        s0.zeroGrad();
        m0.causalLm(batch, true);
        // The norm by hand: every element of every trainable gradient, squared and summed in plain Java.
        double sum = 0;
        int elements = 0;
        for (AdapterParam p : s0.trainable().values()) {
            for (double g : p.grad().dup().data().asDouble()) {
                sum += g * g;
                elements++;
            }
        }
        double norm = Math.sqrt(sum);
        // Rank 2 on q (16 -> 16), k and v (16 -> 8), o (16 -> 16), gate and up (16 -> 24), down (24 -> 16), 2 layers.
        assertEquals(2 * 2 * (32 + 24 + 24 + 32 + 40 + 40 + 40), elements);
        assertTrue(norm > 0);

        LlamaModel m1 = model();
        AdapterSet s1 = inject(m1, "lora", 0, null);
        Map<String, INDArray> before = values(s1);
        LocalTrainer.StepResult r = new LocalTrainer(m1, s1, null, new Sgd(), null).step(List.of(batch), 0, 1.0, 7);
        assertEquals(norm, r.gradNorm(), 1e-12 * norm);
        Map<String, INDArray> unclipped = new LinkedHashMap<>();
        values(s1).forEach((k, v) -> unclipped.put(k, before.get(k).sub(v))); // = lr * g with lr 1

        for (double max : new double[] {norm / 4, 2 * norm}) {
            LlamaModel m2 = model();
            AdapterSet s2 = inject(m2, "lora", 0, null);
            LocalTrainer.StepResult c = new LocalTrainer(m2, s2, null, new Sgd(), max).step(List.of(batch), 0, 1.0, 7);
            assertEquals(norm, c.gradNorm(), 1e-12 * norm, "the norm before clipping is reported");
            double coef = Math.min(1, max / (norm + 1e-6));
            double clippedNorm = 0;
            for (var e : s2.trainable().entrySet()) {
                INDArray update = before.get(e.getKey()).sub(e.getValue().value());
                INDArray expected = unclipped.get(e.getKey()).mul(coef);
                assertTrue(update.sub(expected).amaxNumber().doubleValue() < 1e-12, e.getKey());
                clippedNorm += update.mul(update).sumNumber().doubleValue();
            }
            assertEquals(Math.min(max, norm), Math.sqrt(clippedNorm), 1e-5 * norm);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"lora", "lamda", "neat"})
    void dropoutIsDeterministicInItsSeedAndOffInEvaluation(String method) {
        TokenBatch batch = fourRows();
        LlamaModel model = model();
        AdapterSet plain = inject(model, method, 0, null);
        INDArray base = model.forward(batch, false).dup();
        plain.detach();
        AdapterSet set = inject(model, method, 0.3, null);
        assertEquals(base, model.forward(batch, false).dup(), "no dropout in evaluation");
        set.setDropoutSeed(5);
        INDArray a = model.forward(batch, true).dup();
        set.setDropoutSeed(5);
        INDArray b = model.forward(batch, true).dup();
        set.setDropoutSeed(6);
        INDArray c = model.forward(batch, true).dup();
        assertEquals(a, b, "same seed, same masks");
        assertFalse(a.equalsWithEps(base, 1e-6), "dropout changes the training forward");
        assertFalse(a.equalsWithEps(c, 1e-6), "another seed, other masks");
        assertEquals(base, model.forward(batch, false).dup(), "still none in evaluation");
    }

    /** With the mask fixed by its seed, the training loss is a smooth function of the adapters: check its gradient. */
    @ParameterizedTest
    @ValueSource(strings = {"lora", "lamda", "neat"})
    void gradientsWithAFixedDropoutMaskMatchFiniteDifferences(String method) {
        TokenBatch batch = fourRows();
        LlamaModel model = model();
        AdapterSet set = inject(model, method, 0.25, null);
        set.setDropoutSeed(9);
        set.zeroGrad();
        model.causalLm(batch, true);
        SplittableRandom rng = new SplittableRandom(4);
        int checked = 0;
        for (var e : set.trainable().entrySet()) {
            AdapterParam p = e.getValue();
            INDArray g = p.grad().dup();
            for (int k = 0; k < 2; k++) {
                int row = p.frozenRows() + rng.nextInt(p.rows() - p.frozenRows());
                int col = rng.nextInt(p.columns());
                double w0 = p.value().getDouble(row, col);
                double eps = 1e-6;
                p.value().putScalar(row, col, w0 + eps);
                double up = trainingLoss(model, set, batch);
                p.value().putScalar(row, col, w0 - eps);
                double down = trainingLoss(model, set, batch);
                p.value().putScalar(row, col, w0);
                double numeric = (up - down) / (2 * eps);
                assertEquals(numeric, g.getDouble(row, col), 1e-7 + 1e-5 * Math.abs(numeric), e.getKey());
                checked++;
            }
        }
        assertTrue(checked > 20, "checked " + checked);
    }

    /** The training-mode loss with the same masks, without touching the gradients already computed. */
    private static double trainingLoss(LlamaModel model, AdapterSet set, TokenBatch batch) {
        Map<String, INDArray> saved = grads(set);
        set.setDropoutSeed(9);
        double loss = model.causalLm(batch, true).mean();
        saved.forEach((k, g) -> set.trainable().get(k).grad().assign(g));
        return loss;
    }

    @Test
    void adaptersGoOnlyOnTheChosenLayers() {
        LlamaModel model = model();
        AdapterSet set = inject(model, "lora", 0, List.of(1));
        assertEquals(ALL.size(), set.targets().size());
        for (TargetLinear t : set.targets()) {
            assertTrue(t.path().startsWith("model.layers.1."), t.path());
        }
        for (String k : set.trainable().keySet()) {
            assertTrue(k.startsWith("model.layers.1."), k);
        }
        List<TargetLinear> bare = new ArrayList<>(model.linears());
        bare.removeIf(t -> t.adapter() != null);
        assertEquals(ALL.size(), bare.size(), "layer 0 keeps its plain linears");
        set.detach();
        String e = assertThrows(IllegalArgumentException.class, () -> inject(model(), "lora", 0, List.of(0, 2)))
                .getMessage();
        assertEquals("layers: expected layer indices in 0..1, found 2", e);
    }

    @Test
    void pissaStartsFromTheBaseModelWithThePrincipalSubspaceInTheAdapter() {
        TokenBatch batch = fourRows();
        LlamaModel model = model();
        INDArray base = model.forward(batch, false).dup();
        LossSum baseLoss = model.causalLm(batch, false);
        INDArray q0 = model.linears().get(0).weight().dup();
        AdapterSet set = AdapterInjector.inject(
                model.linears(), AdapterMethods.spec("lora", 2, 4.0, ALL, 11L, Map.of("init", "pissa")));
        INDArray out = model.forward(batch, false);
        assertTrue(out.equalsWithEps(base, 1e-10), "step 0 is the base model");
        assertEquals(baseLoss.mean(), model.causalLm(batch, false).mean(), 1e-12);
        // The frozen residual keeps what the leading r singular directions leave: its norm^2 = sum of sigma_i^2, i > r.
        TargetLinear q = set.targets().get(0);
        TruncatedSvd.Result svd = TruncatedSvd.compute(q0, (int) Math.min(q0.rows(), q0.columns()), 1);
        double tail = 0;
        for (int i = 2; i < svd.rank(); i++) {
            tail += Math.pow(svd.sigma().getDouble(i), 2);
        }
        double residual = q.weight().norm2Number().doubleValue();
        assertEquals(Math.sqrt(tail), residual, 1e-9 * residual);
        // Training moves it off the base; detaching restores W0 (to the rounding of W0 - s A0 B0 + s A0 B0).
        new LocalTrainer(model, set, null, new Sgd(), 1.0).step(List.of(batch), 0, 0.1, 1);
        assertFalse(model.forward(batch, false).equalsWithEps(base, 1e-6));
        set.detach();
        assertTrue(model.linears().get(0).weight().equalsWithEps(q0, 1e-12));
    }
}
