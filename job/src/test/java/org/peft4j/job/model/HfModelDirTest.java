package org.peft4j.job.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.peft4j.datasets.tokenize.Tokenizer;
import org.peft4j.job.testing.TestConfigs;

/**
 * Model directories as transformers 5 saves them (adapters/src/test/resources/hf, from hf_reference.py): the
 * tokenizer encodes as AutoTokenizer does and takes its special tokens from tokenizer_config.json; a
 * tokenizer_config.json that contradicts tokenizer.json is refused with the file and key named.
 */
class HfModelDirTest {
    static final Path HF = TestConfigs.ROOT.resolve("adapters/src/test/resources/hf");

    @TempDir
    Path tmp;

    @Test
    void tokenizersEncodeAsAutoTokenizerAndUseItsSpecialTokens() throws Exception {
        JsonNode golden =
                new ObjectMapper().readTree(HF.resolve("tokenizers.json").toFile());
        for (String family : List.of("llama2", "llama3", "llama32", "mistral", "qwen2")) {
            String kind = family.equals("qwen2") ? "nobos" : "bos";
            JsonNode g = golden.path("tokenizers").path(kind);
            Tokenizer t = ModelLoader.load(HF.resolve(family).resolve("f32").toString())
                    .tokenizer();
            for (int i = 0; i < golden.path("texts").size(); i++) {
                String text = golden.path("texts").get(i).asText();
                assertArrayEquals(ints(g.path("ids").get(i)), t.encode(text), family + ": " + text);
                assertArrayEquals(ints(g.path("plain_ids").get(i)), t.encodePlain(text), family + " plain: " + text);
                assertEquals(g.path("decoded").get(i).asText(), t.decode(t.encodePlain(text)), family + " decode");
            }
            assertEquals(
                    g.path("bos_token_id").isNull()
                            ? -1
                            : g.path("bos_token_id").asInt(),
                    t.bosId(),
                    family);
            assertEquals(g.path("eos_token_id").asInt(), t.eosId(), family);
            assertEquals(g.path("pad_token_id").asInt(), t.padId(), family);
        }
    }

    @Test
    void aTokenizerConfigThatContradictsTokenizerJsonIsRefusedWithFileAndKey() throws Exception {
        Path dir = copy("llama3");
        edit(dir, "\"bos_token\": \"<s>\"", "\"bos_token\": \"<begin>\"");
        var unknown = assertThrows(IllegalArgumentException.class, () -> ModelLoader.load(dir.toString()));
        assertTrue(
                unknown.getMessage()
                        .contains(dir.resolve("tokenizer_config.json") + ": key 'bos_token': token"
                                + " '<begin>' is not in"),
                unknown.getMessage());

        Path noBos = copy("llama3");
        edit(noBos, "\"bos_token\": \"<s>\",", "\"bos_token\": \"<s>\", \"add_bos_token\": false,");
        var adds = assertThrows(IllegalArgumentException.class, () -> ModelLoader.load(noBos.toString()));
        assertTrue(
                adds.getMessage()
                        .contains(noBos.resolve("tokenizer_config.json") + ": key 'add_bos_token' is"
                                + " false, but the post-processor of"),
                adds.getMessage());
        assertTrue(adds.getMessage().contains("adds BOS: the two files disagree"), adds.getMessage());
    }

    Path copy(String family) throws Exception {
        Path dir = Files.createTempDirectory(tmp, family);
        try (var files = Files.list(HF.resolve(family).resolve("f32"))) {
            for (Path f : files.toList()) {
                Files.copy(f, dir.resolve(f.getFileName()));
            }
        }
        return dir;
    }

    static void edit(Path dir, String from, String to) throws Exception {
        Path f = dir.resolve("tokenizer_config.json");
        String s = Files.readString(f);
        assertTrue(s.contains(from), s);
        Files.writeString(f, s.replace(from, to));
    }

    static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asInt();
        }
        return out;
    }
}
