package org.peft4j.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.peft4j.adapters.core.AdapterInjector;
import org.peft4j.adapters.core.AdapterParam;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.core.AdapterSpec;
import org.peft4j.adapters.io.AdapterCheckpoint;
import org.peft4j.adapters.linalg.RandomMatrix;
import org.peft4j.adapters.model.llama.LlamaModel;
import org.peft4j.adapters.model.llama.TinyLlama;
import org.peft4j.adapters.registry.AdapterMethods;

/**
 * perplexity and merge through {@code deploy/peft4j}: on the embedded default, on the same model exported as a
 * Hugging Face directory (read back through tokenizer.json), and with an adapter, merged or not.
 */
class ModelCommandsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;

    static Path text;
    static int textBytes;

    @BeforeAll
    static void writeText() throws Exception {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; sb.length() < 2600; i++) {
            sb.append("Line ").append(i).append(": the quick brown fox, naïve café, 数学 ∑\r\n");
        }
        text = tmp.resolve("text.txt");
        Files.writeString(text, sb, StandardCharsets.UTF_8);
        textBytes = sb.toString().getBytes(StandardCharsets.UTF_8).length;
    }

    static JsonNode perplexity(String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("perplexity", "--text-file", text.toString(), "--json"));
        args.addAll(List.of(extra));
        Commands.Result r = Commands.peft4j(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        return JSON.readTree(r.out().strip());
    }

    @Test
    void perplexityOfTheEmbeddedDefaultAndOfItsExportedHfDirectoryAgree() throws Exception {
        JsonNode builtin = perplexity("--block-size", "256");
        long blocks = (textBytes + 1) / 256; // byte tokens plus BOS, partial block dropped
        assertEquals(blocks * 255, builtin.get("tokens").asLong());
        assertEquals(
                Math.exp(builtin.get("nll").asDouble()),
                builtin.get("perplexity").asDouble(),
                1e-6);

        Path dir = tmp.resolve("tiny-hf");
        Commands.Result merge = Commands.peft4j("merge", "--out", dir.toString());
        assertEquals(0, merge.code(), merge.err());
        for (String f : List.of("config.json", "model.safetensors", "tokenizer.json")) {
            assertTrue(Files.isRegularFile(dir.resolve(f)), f);
        }
        JsonNode exported =
                perplexity("--block-size", "256", "--model", dir.toUri().toString());
        assertEquals(builtin.get("tokens").asLong(), exported.get("tokens").asLong());
        assertEquals(builtin.get("nll").asDouble(), exported.get("nll").asDouble(), 1e-6);

        Commands.Result again = Commands.peft4j("merge", "--out", dir.toString());
        assertEquals(2, again.code());
        assertTrue(again.err().contains("already holds model.safetensors; pass --overwrite"), again.err());
    }

    @Test
    void anAdapterChangesPerplexityAndMergingItChangesNothingFurther() throws Exception {
        Path adapter = tmp.resolve("adapter");
        LlamaModel model = new LlamaModel(TinyLlama.weights(DataType.FLOAT));
        AdapterSet set = AdapterInjector.inject(
                model.linears(), AdapterMethods.spec("lamda", 8, 16.0, AdapterSpec.DEFAULT_TARGETS, 3L, Map.of()));
        SplittableRandom rng = new SplittableRandom(1);
        for (AdapterParam p : set.trainable().values()) {
            p.value()
                    .addi(RandomMatrix.gaussian(DataType.FLOAT, p.rows(), p.columns(), rng)
                            .muli(0.5));
        }
        AdapterCheckpoint.save(set, TinyLlama.NAME, adapter);

        JsonNode base = perplexity();
        JsonNode adapted = perplexity("--adapter", adapter.toString());
        assertTrue(
                Math.abs(base.get("nll").asDouble() - adapted.get("nll").asDouble()) > 1e-3, base + " vs " + adapted);
        Path merged = tmp.resolve("merged");
        Commands.Result m = Commands.peft4j("merge", "--adapter", adapter.toString(), "--out", merged.toString());
        assertEquals(0, m.code(), m.err());
        JsonNode fromMerged = perplexity("--model", merged.toString());
        assertEquals(adapted.get("nll").asDouble(), fromMerged.get("nll").asDouble(), 1e-4);
    }

    @Test
    void aDirectoryWithoutTokenizerOrWithACorruptShardGetsAClearError() throws Exception {
        Path dir = tmp.resolve("broken");
        assertEquals(0, Commands.peft4j("merge", "--out", dir.toString()).code());
        Files.delete(dir.resolve("tokenizer.json"));
        Commands.Result noTok =
                Commands.peft4j("perplexity", "--model", dir.toString(), "--text-file", text.toString());
        assertEquals(2, noTok.code());
        assertTrue(noTok.err().contains("has no tokenizer.json"), noTok.err());

        byte[] all = Files.readAllBytes(dir.resolve("model.safetensors"));
        Files.write(dir.resolve("model.safetensors"), java.util.Arrays.copyOf(all, all.length / 2));
        Commands.Result truncated =
                Commands.peft4j("perplexity", "--model", dir.toString(), "--text-file", text.toString());
        assertEquals(2, truncated.code());
        assertTrue(
                truncated.err().contains(dir.resolve("model.safetensors").toString())
                        && truncated.err().contains("truncated"),
                truncated.err());
    }
}
