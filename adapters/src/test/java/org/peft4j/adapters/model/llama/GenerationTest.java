package org.peft4j.adapters.model.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.io.LocalModelFiles;
import org.peft4j.adapters.io.Safetensors;

/** Beam search: transformers' generate on a golden model, and a case small enough to follow by hand. */
class GenerationTest {

    static double[] log(double... p) {
        double[] out = new double[p.length];
        for (int i = 0; i < p.length; i++) {
            out[i] = Math.log(p[i]);
        }
        return out;
    }

    /**
     * Vocabulary {0, 1, 2}, 2 stops, 2 beams, 3 new tokens. Step 1 keeps [0] (-0.69) and [1] (-1.20). Step 2: after
     * [0] the model is unsure (0.34, 0.33, 0.33), after [1] it is sure of 0 (0.9): [1 0] (-1.31) and [0 0] (-1.77)
     * run on. Step 3 is the last: [1 0 2] (-1.82 / 3) beats [0 0 2] (-2.28 / 3). Greedy would give [0 0 2].
     */
    @Test
    void aHandCheckedSearchKeepsTheBetterSecondBeamAndNormalisesByLength() {
        List<int[]> reorders = new ArrayList<>();
        List<int[]> asked = new ArrayList<>();
        int[] calls = {0};
        BeamSearch.Step step = new BeamSearch.Step() {
            @Override
            public double[][] next(int[] lastTokens) {
                asked.add(lastTokens.clone());
                return calls[0]++ == 0
                        ? new double[][] {log(0.34, 0.33, 0.33), log(0.9, 0.05, 0.05)}
                        : new double[][] {log(0.2, 0.2, 0.6), log(0.2, 0.2, 0.6)};
            }

            @Override
            public void reorder(int[] sourceBeams) {
                reorders.add(sourceBeams.clone());
            }
        };
        int[] out = BeamSearch.run(log(0.5, 0.3, 0.2), 2, 3, Set.of(2), 1.0, step);
        assertArrayEquals(new int[] {1, 0, 2}, out);
        assertArrayEquals(new int[] {0, 0}, reorders.get(0), "both beams continue from the prompt's only beam");
        assertArrayEquals(new int[] {0, 1}, asked.get(0), "beams [0] and [1]");
        assertArrayEquals(new int[] {1, 0}, reorders.get(1), "[1 0] (from beam 1) first, then [0 0] (beam 0)");
        assertArrayEquals(new int[] {0, 0}, asked.get(1));
    }

    @Test
    void beamSearchAndGreedyGiveTransformersTokens() throws IOException {
        Path dir = HfFamiliesTest.hf("llama3");
        Map<String, INDArray> g = Safetensors.read(Files.readAllBytes(dir.resolve("generate.safetensors")), "g");
        LlamaModel model = new LlamaModel(LlamaWeights.load(new LocalModelFiles(dir.resolve("f32")), DataType.FLOAT));
        int[] prompt = ints(g.get("prompt"));
        Generation gen = new Generation(model);
        assertArrayEquals(ints(g.get("greedy")), gen.greedy(new int[][] {prompt}, 10, stops(g, "greedy"))[0]);
        for (var c : Map.of("beams4", 4, "beams4_stop", 4, "beams3_stops", 3).entrySet()) {
            assertArrayEquals(
                    ints(g.get(c.getKey())), gen.beam(prompt, c.getValue(), 10, stops(g, c.getKey())), c.getKey());
        }
        assertEquals(3, ints(g.get("beams4_stop")).length, "a case that stops on its stop token");
        int[][] viaModel = model.generate(new int[][] {prompt}, 10, 2, 4);
        assertArrayEquals(ints(g.get("beams4")), viaModel[0], "generate with 4 beams and the config's eos ids");
        assertArrayEquals(
                model.generate(new int[][] {prompt}, 10, 2),
                model.generate(new int[][] {prompt}, 10, 2, 1),
                "one beam is greedy, as in transformers");
    }

    static Set<Integer> stops(Map<String, INDArray> g, String name) {
        return java.util.Arrays.stream(ints(g.get(name + ".eos"))).boxed().collect(Collectors.toSet());
    }

    static int[] ints(INDArray a) {
        int[] out = new int[(int) a.length()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (int) a.getLong(i);
        }
        return out;
    }
}
