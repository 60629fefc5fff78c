package org.peft4j.adapters.model.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.core.AdapterInjector;
import org.peft4j.adapters.core.AdapterParam;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.core.AdapterSpec;
import org.peft4j.adapters.core.TargetLinear;
import org.peft4j.adapters.linalg.RandomMatrix;
import org.peft4j.adapters.model.LossSum;
import org.peft4j.adapters.model.TokenBatch;
import org.peft4j.adapters.optim.AdamW;
import org.peft4j.adapters.registry.AdapterMethods;
import org.peft4j.adapters.train.LocalTrainer;

/**
 * The whole model's backward pass: a double-precision finite-difference check with respect to every adapter tensor
 * and the sequence heads, on all seven target modules; and short training runs that must lower the loss while
 * leaving every base weight bit-identical.
 */
class LlamaModelTrainingTest {
    static final List<String> ALL =
            List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

    static LlamaConfig small() {
        // GQA (4 query heads over 2 key/value heads), untied head, 2 layers.
        return LlamaConfig.llama(16, 24, 2, 4, 2, 4, 23, false, 1e-5, 10000.0, 64);
    }

    static LlamaWeights weights(LlamaConfig c, DataType type) {
        LlamaWeights w = LlamaWeights.random(c, 5, type);
        // std 0.02 leaves the layers nearly linear: scale up so attention and SwiGLU are exercised for real.
        w.layers().forEach(l -> l.linears().values().forEach(m -> m.muli(1.0 / 0.02 / Math.sqrt(m.rows()))));
        w.embed().muli(50);
        w.lmHead().muli(20); // logits of order 1, so that the loss can move far from log(vocab)
        return w;
    }

    static TokenBatch lmBatch() {
        int[] ids = {1, 5, 9, 13, 7, 22, 1, 4, 8, 3, 0, 0};
        int[] mask = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
        int[] labels = {-100, -100, 9, 13, 7, 22, -100, 4, -100, 3, -100, -100};
        return new TokenBatch(2, 6, ids, mask, labels, null);
    }

    static Stream<Arguments> specs() {
        return Stream.of(
                Arguments.of("lora", Map.of(), null),
                Arguments.of("lamda", Map.of("init", "svd-residual"), null),
                Arguments.of("lamda", Map.of("init", "random"), null),
                Arguments.of("neat", Map.of("activation", "sin", "depth", "4"), null),
                Arguments.of("lora", Map.of(), 3),
                Arguments.of("lamda", Map.of(), 1));
    }

    @ParameterizedTest(name = "{0} {1} head={2}")
    @MethodSource("specs")
    void gradientsOfTheWholeModelMatchFiniteDifferences(String method, Map<String, String> options, Integer labels) {
        LlamaConfig c = small();
        LlamaModel model = new LlamaModel(weights(c, DataType.DOUBLE));
        AdapterSet set =
                AdapterInjector.inject(model.linears(), AdapterMethods.spec(method, 2, 4.0, ALL, 11L, options));
        SplittableRandom rng = new SplittableRandom(3);
        for (AdapterParam p : set.trainable().values()) {
            // Move off the zero initialisations (LoRA B, Neat T2) so that every path carries gradient.
            p.value()
                    .addi(RandomMatrix.gaussian(DataType.DOUBLE, p.rows(), p.columns(), rng)
                            .muli(0.3));
        }
        SequenceHead head = null;
        TokenBatch batch = lmBatch();
        if (labels != null) {
            head = SequenceHead.init(c.hiddenSize(), labels, 9, DataType.DOUBLE);
            set.addModuleToSave(head.param());
            double[] targets = labels == 1 ? new double[] {3.5, 0.25} : new double[] {2, 0};
            batch = new TokenBatch(2, 6, batch.inputIds(), batch.attentionMask(), null, targets);
        }
        SequenceHead h = head;
        TokenBatch b = batch;
        java.util.function.DoubleSupplier loss =
                () -> (h == null ? model.causalLm(b, false) : model.sequence(b, h, false)).mean();
        set.zeroGrad();
        if (h == null) {
            model.causalLm(b, true);
        } else {
            model.sequence(b, h, true);
        }
        int checked = 0;
        double eps = 1e-6;
        for (var e : set.trainable().entrySet()) {
            AdapterParam p = e.getValue();
            INDArray g = p.grad().dup();
            for (int k = 0; k < 3; k++) {
                int row = p.frozenRows() + rng.nextInt(p.rows() - p.frozenRows());
                int col = rng.nextInt(p.columns());
                double w0 = p.value().getDouble(row, col);
                p.value().putScalar(row, col, w0 + eps);
                double up = loss.getAsDouble();
                p.value().putScalar(row, col, w0 - eps);
                double down = loss.getAsDouble();
                p.value().putScalar(row, col, w0);
                double numeric = (up - down) / (2 * eps);
                double analytic = g.getDouble(row, col);
                assertEquals(
                        numeric, analytic, 1e-7 + 1e-5 * Math.abs(numeric), e.getKey() + "[" + row + "," + col + "]");
                checked++;
            }
        }
        assertTrue(checked >= 3 * set.trainable().size() && checked > 30, "checked " + checked);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("trainingSpecs")
    void trainingLowersTheLossAndLeavesBaseWeightsBitIdentical(String method, Map<String, String> options) {
        LlamaConfig c = small();
        LlamaModel model = new LlamaModel(weights(c, DataType.FLOAT));
        List<TargetLinear> linears = model.linears();
        List<INDArray> before = new ArrayList<>();
        linears.forEach(t -> before.add(t.weight().dup()));
        INDArray embed = model.weights().embed().dup();
        INDArray head = model.weights().lmHead().dup();
        AdapterSet set = AdapterInjector.inject(
                linears, AdapterMethods.spec(method, 4, 8.0, AdapterSpec.DEFAULT_TARGETS, 11L, options));
        set.setTotalSteps(60);
        LocalTrainer trainer = new LocalTrainer(model, set, null, AdamW.defaults());
        TokenBatch batch = lmBatch();
        double first = trainer.evaluate(batch).mean();
        LossSum last = null;
        for (int s = 0; s < 60; s++) {
            last = trainer.step(batch, s, 1e-2);
        }
        double after = trainer.evaluate(batch).mean();
        assertTrue(
                after < 0.5 * first, method + ": loss " + first + " -> " + after + " (last step " + last.mean() + ")");
        set.detach();
        for (int i = 0; i < linears.size(); i++) {
            assertEquals(before.get(i), linears.get(i).weight(), linears.get(i).path() + " changed");
        }
        assertEquals(embed, model.weights().embed());
        assertEquals(head, model.weights().lmHead());
    }

    static Stream<Arguments> trainingSpecs() {
        return Stream.of(
                Arguments.of("lora", Map.of()),
                Arguments.of("lamda", Map.of()),
                Arguments.of("lamda++", Map.of()),
                Arguments.of("neat", Map.of()));
    }
}
