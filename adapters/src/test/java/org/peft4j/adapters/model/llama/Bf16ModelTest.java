package org.peft4j.adapters.model.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.peft4j.adapters.core.AdapterInjector;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.core.AdapterSpec;
import org.peft4j.adapters.core.TargetLinear;
import org.peft4j.adapters.io.LocalModelFiles;
import org.peft4j.adapters.linalg.Bf16;
import org.peft4j.adapters.model.TokenBatch;
import org.peft4j.adapters.optim.AdamW;
import org.peft4j.adapters.registry.AdapterMethods;
import org.peft4j.adapters.train.LocalTrainer;

/**
 * The model with its embedding, linears and head stored in bf16 (products of bf16-rounded inputs accumulated in fp32,
 * everything else fp32): logits against transformers' on the golden families, training against fp32 training.
 */
class Bf16ModelTest {
    /**
     * Largest logit error allowed, relative to the largest logit: the products' inputs are rounded to bf16 (8
     * significant bits, relative error up to 2^-9 each), which the 2 layers and the head compound. Measured 0.8-1.2% (llama3, qwen2, llama32); the loss within 1e-4.
     */
    static final double RELATIVE = 0.02;

    @Test
    void roundingIsToNearestEvenAsTorchRounds() {
        float[] edge = {
            1f,
            1f + 0x1p-8f,
            1f + 0x1p-7f + 0x1p-8f,
            1f + 0x1p-9f,
            -3.3f,
            Float.MIN_VALUE,
            1e-40f,
            Float.MAX_VALUE,
            Float.POSITIVE_INFINITY,
            Float.NEGATIVE_INFINITY,
            0f,
            -0f
        };
        // Halfway cases go to the even neighbour: 1 + 2^-8 -> 1, 1 + 3 * 2^-8 -> 1 + 2^-6.
        assertEquals(1f, Bf16.value(Bf16.bits(1f + 0x1p-8f)));
        assertEquals(1f + 0x1p-6f, Bf16.value(Bf16.bits(1f + 0x1p-7f + 0x1p-8f)));
        assertTrue(Float.isNaN(Bf16.value(Bf16.bits(Float.NaN))));
        SplittableRandom rng = new SplittableRandom(5);
        float[] v = new float[100_003];
        for (int i = 0; i < v.length; i++) {
            v[i] = i < edge.length ? edge[i] : (float) (rng.nextGaussian() * Math.pow(10, rng.nextInt(-30, 30)));
        }
        INDArray out = Bf16.of(Nd4j.createFromArray(v)); // weights: exact RNE, subnormals included
        short[] bits = new short[v.length];
        new org.bytedeco.javacpp.ShortPointer(out.data().addressPointer()).get(bits);
        for (int i = 0; i < v.length; i++) {
            assertEquals(Bf16.bits(v[i]), bits[i], "element " + i + " = " + v[i]);
        }
        // Activations (oneDNN's reorder where it loads): the same bits, except that subnormals (below 1.2e-38)
        // flush to zero.
        INDArray hot = Nd4j.create(DataType.BFLOAT16, v.length);
        Bf16.round(Nd4j.createFromArray(v), hot);
        short[] hotBits = new short[v.length];
        new org.bytedeco.javacpp.ShortPointer(hot.data().addressPointer()).get(hotBits);
        for (int i = 0; i < v.length; i++) {
            boolean subnormal = v[i] != 0 && Math.abs(v[i]) < Float.MIN_NORMAL;
            assertEquals(subnormal ? (short) (Bf16.bits(v[i]) & 0x8000) : Bf16.bits(v[i]), hotBits[i], "hot " + v[i]);
        }
        // And back: exact.
        INDArray back = out.castTo(DataType.FLOAT);
        for (int i = 0; i < v.length; i++) {
            assertEquals(Bf16.value(bits[i]), back.getFloat(i), 0f);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama3", "qwen2", "llama32"})
    void logitsStayWithinAStatedToleranceOfTransformersFp32(String family) throws IOException {
        Map<String, INDArray> e = HfFamiliesTest.expected(family);
        TokenBatch batch = ModelGoldens.batch(e);
        LlamaModel bf16 = new LlamaModel(
                LlamaWeights.load(new LocalModelFiles(HfFamiliesTest.hf(family).resolve("bf16")), DataType.BFLOAT16));
        assertEquals(DataType.BFLOAT16, bf16.weights().dataType());
        assertEquals(DataType.FLOAT, bf16.weights().finalNorm().dataType(), "norms stay fp32");
        // Against transformers with the very same (bf16-shard) weights computed in fp32: only our input rounding.
        INDArray want = e.get("logits_bf16");
        double scale = want.amaxNumber().doubleValue();
        double worst = ModelGoldens.worstLogitError(bf16, batch, want);
        assertTrue(worst < RELATIVE * scale, family + ": worst " + worst + " of " + scale);
        double loss = bf16.causalLm(batch, false).mean();
        assertEquals(e.get("loss_bf16").getDouble(0), loss, 1e-3 * loss, family + " loss");
        // The F32 file rounded on load holds the very bits torch wrote into the BF16 shards (norms aside: the shards
        // round them too, we keep fp32 gains from the F32 file).
        LlamaWeights rounded =
                LlamaWeights.load(new LocalModelFiles(HfFamiliesTest.hf(family).resolve("f32")), DataType.BFLOAT16);
        LlamaWeights shards = bf16.weights();
        assertEquals(shards.embed(), rounded.embed(), family + " embedding");
        for (int l = 0; l < c(shards).numHiddenLayers(); l++) {
            for (String m : AdapterSpec.MODULES) {
                assertEquals(
                        shards.layers().get(l).linears().get(m),
                        rounded.layers().get(l).linears().get(m),
                        family + " layer " + l + " " + m);
            }
        }
    }

    private static LlamaConfig c(LlamaWeights w) {
        return w.config();
    }

    /** Short training runs from the same start in fp32 and in bf16: the loss falls alike; W0 never changes. */
    @ParameterizedTest
    @ValueSource(strings = {"lora", "lamda", "neat"})
    void bf16TrainingLowersTheLossLikeFp32AndLeavesTheBaseBitIdentical(String method) {
        LlamaConfig c = LlamaModelTrainingTest.small();
        LlamaWeights fp32 = LlamaModelTrainingTest.weights(c, DataType.FLOAT);
        double[] ratios = new double[2];
        double[] lastLoss = new double[2];
        for (int run = 0; run < 2; run++) {
            LlamaWeights w = run == 0 ? fp32 : fp32.toBf16();
            LlamaModel model = new LlamaModel(w);
            AdapterSet set = AdapterInjector.inject(
                    model.linears(), AdapterMethods.spec(method, 4, 8.0, AdapterSpec.DEFAULT_TARGETS, 11L, Map.of()));
            set.setTotalSteps(60);
            List<INDArray> base = new ArrayList<>();
            for (TargetLinear t : model.linears()) {
                base.add(t.weight().dup());
            }
            INDArray embed = w.embed().dup();
            LocalTrainer trainer = new LocalTrainer(model, set, null, AdamW.defaults(), 1.0);
            TokenBatch batch = LlamaModelTrainingTest.lmBatch();
            double first = trainer.evaluate(batch).mean();
            for (int s = 0; s < 60; s++) {
                trainer.step(batch, s, 1e-2);
            }
            double after = trainer.evaluate(batch).mean();
            ratios[run] = after / first;
            lastLoss[run] = after;
            for (int i = 0; i < base.size(); i++) {
                TargetLinear t = model.linears().get(i);
                assertEquals(
                        run == 0 ? DataType.FLOAT : DataType.BFLOAT16,
                        t.weight().dataType());
                assertEquals(base.get(i), t.weight(), method + ": " + t.path() + " changed in training");
            }
            assertEquals(embed, w.embed());
            set.params()
                    .values()
                    .forEach(p -> assertEquals(DataType.FLOAT, p.value().dataType(), p.name()));
        }
        assertTrue(ratios[0] < 0.5, method + " fp32: " + ratios[0]);
        assertTrue(ratios[1] < 0.5, method + " bf16: " + ratios[1]);
        assertEquals(lastLoss[0], lastLoss[1], 0.15 * lastLoss[0] + 0.05, method + ": final losses fp32 vs bf16");
    }
}
