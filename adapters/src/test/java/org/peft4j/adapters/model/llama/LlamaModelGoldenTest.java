package org.peft4j.adapters.model.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.io.LocalModelFiles;
import org.peft4j.adapters.io.Safetensors;
import org.peft4j.adapters.model.TokenBatch;

/**
 * Logits, loss and greedy generations of a small random LLaMA (GQA, untied head, rope_theta 500000) against the
 * saved outputs of an independent numpy implementation: {@code adapters/src/test/python/llama_reference.py}, which
 * also wrote the checkpoints (F32 single file; BF16 in two shards with an index).
 */
class LlamaModelGoldenTest {
    static final double TOLERANCE = 1e-4;

    static Path golden(String name) {
        try {
            return Path.of(
                    LlamaModelGoldenTest.class.getResource("/golden/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static Map<String, INDArray> expected() throws IOException {
        return Safetensors.read(Files.readAllBytes(golden("expected.safetensors")), "expected.safetensors");
    }

    @Test
    void f32LogitsAndLossMatchTheReference() throws IOException {
        check("tiny-f32", "f32");
    }

    @Test
    void shardedBf16CheckpointLoadsAndMatchesTheReference() throws IOException {
        check("tiny-bf16-sharded", "bf16");
    }

    private void check(String dir, String tag) throws IOException {
        Map<String, INDArray> e = expected();
        LlamaModel model = new LlamaModel(LlamaWeights.load(new LocalModelFiles(golden(dir)), DataType.FLOAT));
        TokenBatch batch = batch(e);
        INDArray h = model.forward(batch, false);
        INDArray logits = model.logitsOf(h);
        INDArray want = e.get(tag + ".logits");
        double worst = 0;
        for (int r = 0; r < batch.rows(); r++) {
            for (int t = 0; t < batch.rowLength(r); t++) {
                for (int v = 0; v < model.config().vocabSize(); v++) {
                    worst = Math.max(
                            worst, Math.abs(logits.getDouble(r * batch.length() + t, v) - want.getDouble(r, t, v)));
                }
            }
        }
        assertTrue(worst < TOLERANCE, "max abs logit error " + worst);
        double loss = model.causalLm(batch, false).mean();
        assertEquals(e.get(tag + ".loss").getDouble(0), loss, TOLERANCE);
        assertEquals(5 + 3, model.causalLm(batch, false).count(), "scored tokens: labels shifted, -100 ignored");
    }

    @Test
    void theDevicePathForGpuBuildsMatchesTheReferenceToo() throws IOException {
        // nd4j-cuda cannot hand OpenBLAS host pointers: there attention and rotary go through ND4J views and ops.
        org.peft4j.adapters.linalg.Blas.useDevicePathForTesting(true);
        try {
            check("tiny-f32", "f32");
            greedyGenerationWithLeftPaddingAndKvCacheMatchesTheReference();
        } finally {
            org.peft4j.adapters.linalg.Blas.useDevicePathForTesting(false);
        }
    }

    @Test
    void greedyGenerationWithLeftPaddingAndKvCacheMatchesTheReference() throws IOException {
        Map<String, INDArray> e = expected();
        LlamaModel model = new LlamaModel(LlamaWeights.load(new LocalModelFiles(golden("tiny-f32")), DataType.FLOAT));
        int[][] prompts = new int[3][];
        for (int i = 0; i < 3; i++) {
            prompts[i] = e.get("generate.prompt" + i).toIntVector();
        }
        int max = e.get("generate.max_new_tokens").getInt(0);
        int[][] out = model.generate(prompts, max, model.config().eosTokenId());
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(e.get("generate.output" + i).toIntVector(), out[i], "row " + i);
        }
        // One row alone decodes exactly as inside the padded batch.
        assertArrayEquals(
                out[1],
                model.generate(new int[][] {prompts[1]}, max, model.config().eosTokenId())[0]);
    }

    static TokenBatch batch(Map<String, INDArray> e) {
        INDArray ids = e.get("input_ids");
        int rows = (int) ids.size(0);
        int len = (int) ids.size(1);
        int[] lengths = e.get("lengths").toIntVector();
        int[] mask = new int[rows * len];
        for (int r = 0; r < rows; r++) {
            for (int t = 0; t < lengths[r]; t++) {
                mask[r * len + t] = 1;
            }
        }
        return new TokenBatch(
                rows,
                len,
                ids.reshape(rows * len).toIntVector(),
                mask,
                e.get("labels").reshape(rows * len).toIntVector(),
                null);
    }

    @Test
    void truncatedCheckpointIsRejectedNamingFileAndTensor(@TempDir Path tmp) throws IOException {
        Path dir = copy(golden("tiny-f32"), tmp.resolve("m"));
        Path file = dir.resolve("model.safetensors");
        byte[] all = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(all, all.length - 100));
        var ex = assertThrows(
                IllegalArgumentException.class, () -> LlamaWeights.load(new LocalModelFiles(dir), DataType.FLOAT));
        assertTrue(ex.getMessage().contains(file.toString()) && ex.getMessage().contains("truncated"), ex.getMessage());
        assertTrue(ex.getMessage().contains("lm_head.weight"), ex.getMessage());
    }

    @Test
    void corruptHeaderLengthIsRejected(@TempDir Path tmp) throws IOException {
        Path dir = copy(golden("tiny-f32"), tmp.resolve("m"));
        Path file = dir.resolve("model.safetensors");
        byte[] all = Files.readAllBytes(file);
        all[7] = 0x7f; // header length now ~9e18
        Files.write(file, all);
        var ex = assertThrows(
                IllegalArgumentException.class, () -> LlamaWeights.load(new LocalModelFiles(dir), DataType.FLOAT));
        assertTrue(ex.getMessage().contains("corrupt safetensors header length"), ex.getMessage());
    }

    @Test
    void missingShardAndShapeMismatchAreRejected(@TempDir Path tmp) throws IOException {
        Path dir = copy(golden("tiny-bf16-sharded"), tmp.resolve("m"));
        Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
        var ex = assertThrows(
                IllegalArgumentException.class, () -> LlamaWeights.load(new LocalModelFiles(dir), DataType.FLOAT));
        assertTrue(ex.getMessage().contains("model-00002-of-00002.safetensors"), ex.getMessage());

        Path dir2 = copy(golden("tiny-f32"), tmp.resolve("m2"));
        String cfg = Files.readString(dir2.resolve("config.json"))
                .replace("\"intermediate_size\": 64", "\"intermediate_size\": 48");
        Files.writeString(dir2.resolve("config.json"), cfg);
        var ex2 = assertThrows(
                IllegalArgumentException.class, () -> LlamaWeights.load(new LocalModelFiles(dir2), DataType.FLOAT));
        assertTrue(
                ex2.getMessage().contains("gate_proj.weight")
                        && ex2.getMessage().contains("[64, 32]"),
                ex2.getMessage());
    }

    static Path copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var files = Files.list(from)) {
            for (Path p : files.toList()) {
                Files.copy(p, to.resolve(p.getFileName()));
            }
        }
        return to;
    }
}
