package org.peft4j.adapters;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.core.AdapterInjector;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.core.AdapterSpec;
import org.peft4j.adapters.core.TargetLinear;
import org.peft4j.adapters.linalg.RandomMatrix;
import org.peft4j.adapters.registry.AdapterMethods;

/** Small layers and the table of (method x options) every shared check runs over. */
public final class Fixtures {
    private Fixtures() {}

    public static final String PATH = "model.layers.0.self_attn.q_proj";

    /** A named case: method plus options. */
    public record Case(String method, Map<String, String> options) {
        @Override
        public String toString() {
            return method + options;
        }

        public AdapterSpec spec(int rank) {
            return AdapterMethods.spec(method, rank, 2.0 * rank, List.of("q_proj", "v_proj"), 7L, options);
        }
    }

    /** Every adapter x option combination (LaMDA++ needs several layers and has its own tests too). */
    public static List<Case> cases() {
        List<Case> cs = new ArrayList<>();
        cs.add(new Case("lora", Map.of()));
        cs.add(new Case("lora", Map.of("rslora", "true")));
        cs.add(new Case("lora", Map.of("init", "gaussian")));
        cs.add(new Case("lora", Map.of("init", "pissa")));
        for (String init : List.of("svd-residual", "svd-zero", "random")) {
            for (String freeze : List.of("paper", "code")) {
                cs.add(new Case("lamda", Map.of("init", init, "freeze", freeze)));
            }
        }
        cs.add(new Case("lamda++", Map.of()));
        for (String act : List.of("relu", "sin")) {
            for (String depth : List.of("2", "4", "6")) {
                for (String orient : List.of("rows", "columns")) {
                    cs.add(new Case("neat", Map.of("activation", act, "depth", depth, "orientation", orient)));
                }
            }
        }
        return cs;
    }

    /** {@link #cases()} as a JUnit {@code @MethodSource}. */
    public static java.util.stream.Stream<Case> caseStream() {
        return cases().stream();
    }

    public static INDArray random(DataType type, long rows, long cols, long seed) {
        return RandomMatrix.gaussian(type, rows, cols, new SplittableRandom(seed));
    }

    public static TargetLinear layer(String path, int dIn, int dOut, DataType type, long seed) {
        return new TargetLinear(path, random(type, dIn, dOut, seed).divi(Math.sqrt(dIn)), null);
    }

    /** Two target layers (q_proj, v_proj) plus one that is not a target (o_proj). */
    public static List<TargetLinear> layers(int dIn, int dOut, DataType type, long seed) {
        return List.of(
                layer(PATH, dIn, dOut, type, seed),
                layer("model.layers.0.self_attn.v_proj", dIn, dOut, type, seed + 1),
                layer("model.layers.0.self_attn.o_proj", dIn, dOut, type, seed + 2));
    }

    public static AdapterSet inject(Case c, List<TargetLinear> layers, int rank) {
        return AdapterInjector.inject(layers, c.spec(rank));
    }
}
