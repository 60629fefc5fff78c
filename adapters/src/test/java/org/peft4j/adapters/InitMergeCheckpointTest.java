package org.peft4j.adapters;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.core.AdapterParam;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.core.TargetLinear;
import org.peft4j.adapters.io.AdapterCheckpoint;
import org.peft4j.adapters.io.Safetensors;

/** SVD inits, merge/unmerge and the checkpoint round trip, over every adapter x option. */
class InitMergeCheckpointTest {
    private static final int D_IN = 48;
    private static final int D_OUT = 40;
    private static final int RANK = 6;

    private static void perturb(AdapterSet set) {
        long seed = 300;
        for (AdapterParam p : set.params().values()) {
            if (!p.alwaysFrozen()) {
                p.value()
                        .addi(Fixtures.random(p.value().dataType(), p.rows(), p.columns(), seed++)
                                .muli(0.05));
            }
        }
    }

    private static double maxAbsDiff(INDArray a, INDArray b) {
        return a.sub(b).amaxNumber().doubleValue();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.peft4j.adapters.Fixtures#caseStream")
    void adaptedLayerEqualsBaseAtStepZeroWhereTheMethodPromisesIt(Fixtures.Case c) {
        List<TargetLinear> layers = Fixtures.layers(D_IN, D_OUT, DataType.FLOAT, 21);
        INDArray x = Fixtures.random(DataType.FLOAT, 16, D_IN, 4);
        INDArray base = x.mmul(layers.get(0).weight());
        Fixtures.inject(c, layers, RANK);
        INDArray y = layers.get(0).forward(x, false);
        // Every method starts at the base model: LoRA and Neat (B, T2 zero), LaMDA svd-zero (S zero), svd-residual
        // (W0 - U S V^T + U S V^T) and random (B zero).
        assertTrue(maxAbsDiff(y, base) < 1e-5, c + ": step-0 output differs from the base by " + maxAbsDiff(y, base));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.peft4j.adapters.Fixtures#caseStream")
    void mergedForwardEqualsUnmergedAndUnmergeRestoresW0(Fixtures.Case c) {
        List<TargetLinear> layers = Fixtures.layers(D_IN, D_OUT, DataType.FLOAT, 21);
        AdapterSet set = Fixtures.inject(c, layers, RANK);
        perturb(set);
        TargetLinear t = set.targets().get(0);
        INDArray w0 = t.weight().dup();
        INDArray x = Fixtures.random(DataType.FLOAT, 16, D_IN, 4);
        INDArray unmerged = t.forward(x, false).dup();
        set.merge();
        INDArray merged = t.forward(x, false).dup();
        assertTrue(maxAbsDiff(merged, unmerged) < 1e-5, c + ": merged differs by " + maxAbsDiff(merged, unmerged));
        set.unmerge();
        assertTrue(maxAbsDiff(t.weight(), w0) < 1e-5, c + ": unmerge left W0 off by " + maxAbsDiff(t.weight(), w0));
        assertTrue(maxAbsDiff(t.forward(x, false), unmerged) < 1e-5);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.peft4j.adapters.Fixtures#caseStream")
    void saveLoadRoundTripIsBitIdentical(Fixtures.Case c, @TempDir Path dir) throws Exception {
        List<TargetLinear> layers = Fixtures.layers(D_IN, D_OUT, DataType.FLOAT, 21);
        AdapterSet set = Fixtures.inject(c, layers, RANK);
        perturb(set);
        INDArray x = Fixtures.random(DataType.FLOAT, 16, D_IN, 4);
        INDArray before = set.targets().get(0).forward(x, false).dup();
        AdapterCheckpoint.save(set, "tiny-test", dir);

        List<TargetLinear> fresh = Fixtures.layers(D_IN, D_OUT, DataType.FLOAT, 21); // a freshly loaded base
        AdapterSet loaded = AdapterCheckpoint.load(fresh, dir);
        assertEquals(set.spec(), loaded.spec());
        assertEquals(set.ranks(), loaded.ranks());
        Map<String, AdapterParam> a = set.params();
        Map<String, AdapterParam> b = loaded.params();
        assertEquals(a.keySet(), b.keySet());
        a.forEach((k, p) -> assertEquals(p.value(), b.get(k).value(), c + ": " + k + " not bit-identical"));
        for (int i = 0; i < layers.size(); i++) {
            assertEquals(layers.get(i).weight(), fresh.get(i).weight(), c + ": effective base weight " + i);
        }
        assertEquals(before, loaded.targets().get(0).forward(x, false), c + ": forward after load");
        // LoRA is saved in PEFT's format, with peft4j's own settings beside it.
        Path own = dir.resolve(AdapterCheckpoint.PEFT4J);
        String config = Files.readString(Files.exists(own) ? own : dir.resolve(AdapterCheckpoint.CONFIG));
        assertTrue(config.contains("\"method\" : \"" + c.method() + "\""), config);
        assertTrue(config.contains("\"base_model_name_or_path\" : \"tiny-test\""), config);
        assertTrue(config.contains("\"rank_pattern\""), config);
        for (String key : c.options().keySet()) {
            assertTrue(config.contains("\"" + key + "\""), "config lacks option " + key);
        }
    }

    /** The message of the error that loading these tensors with this config onto fresh layers gives. */
    private static String loadError(byte[] config, Map<String, INDArray> tensors) {
        return assertThrows(
                        IllegalArgumentException.class,
                        () -> AdapterCheckpoint.load(
                                Fixtures.layers(D_IN, D_OUT, DataType.FLOAT, 21),
                                Map.of(
                                        AdapterCheckpoint.CONFIG,
                                        config,
                                        AdapterCheckpoint.TENSORS,
                                        Safetensors.write(tensors, Map.of())),
                                "ckpt"))
                .getMessage();
    }

    @Test
    void checkpointErrorsNameModuleTensorAndShapes(@TempDir Path dir) throws Exception {
        List<TargetLinear> layers = Fixtures.layers(D_IN, D_OUT, DataType.FLOAT, 21);
        // peft4j's own format (LoRA with product aggregation has a residual PEFT cannot hold).
        AdapterSet set = Fixtures.inject(new Fixtures.Case("lora", Map.of("aggregation", "product")), layers, RANK);
        AdapterCheckpoint.save(set, "tiny-test", dir);
        byte[] config = Files.readAllBytes(dir.resolve(AdapterCheckpoint.CONFIG));
        byte[] tensors = Files.readAllBytes(dir.resolve(AdapterCheckpoint.TENSORS));

        Map<String, INDArray> t = Safetensors.read(tensors, "x");
        t.remove(Fixtures.PATH + ".lora_B");
        String missing = loadError(config, t);
        assertTrue(missing.contains("module " + Fixtures.PATH + ": tensor lora_B missing"), missing);

        Map<String, INDArray> t2 = Safetensors.read(tensors, "x");
        t2.put(Fixtures.PATH + ".lora_A", t2.get(Fixtures.PATH + ".lora_A").reshape(RANK, D_IN));
        String shape = loadError(config, t2);
        assertTrue(shape.contains("tensor lora_A has shape [6, 48], expected [48, 6]"), shape);

        byte[] truncated = java.util.Arrays.copyOf(tensors, tensors.length - 10);
        var trunc = assertThrows(IllegalArgumentException.class, () -> Safetensors.read(truncated, "adapter.st"));
        assertTrue(
                trunc.getMessage().startsWith("adapter.st: tensor '")
                        && trunc.getMessage().contains("truncated"),
                trunc.getMessage());

        byte[] badHeader = tensors.clone();
        badHeader[0] = (byte) 0xff;
        badHeader[5] = 0x7f;
        var header = assertThrows(IllegalArgumentException.class, () -> Safetensors.read(badHeader, "adapter.st"));
        assertTrue(header.getMessage().contains("corrupt safetensors header length"), header.getMessage());
    }

    @Test
    void halfAndBfloat16AreWidened() {
        assertEquals(1.0f, Safetensors.halfToFloat((short) 0x3c00));
        assertEquals(-2.0f, Safetensors.halfToFloat((short) 0xc000));
        assertEquals(65504f, Safetensors.halfToFloat((short) 0x7bff));
        assertEquals(0x1p-24f, Safetensors.halfToFloat((short) 0x0001));
        assertTrue(Float.isInfinite(Safetensors.halfToFloat((short) 0x7c00)));
    }
}
