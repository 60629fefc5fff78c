package org.peft4j.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Runs {@code deploy/peft4j} as a separate process, exactly as the README tells users to. */
class LauncherTest {
    private static final Path ROOT = Commands.ROOT;
    private static final Path CONFIG =
            Path.of("src/test/resources/llama-2-7b-config.json").toAbsolutePath();

    /** {@code params --model-config <LLaMA-2-7B config.json> args...}. */
    private static Commands.Result params(String... args) throws Exception {
        List<String> all = new java.util.ArrayList<>(List.of("params", "--model-config", CONFIG.toString()));
        all.addAll(List.of(args));
        return Commands.peft4j(all.toArray(String[]::new));
    }

    /** A successful run's output, one JSON object per line, {@code n} of them. */
    private static List<JsonNode> jsonLines(Commands.Result r, int n) throws Exception {
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(n, lines.size(), r.out());
        List<JsonNode> out = new java.util.ArrayList<>();
        for (String l : lines) {
            out.add(new ObjectMapper().readTree(l));
        }
        return out;
    }

    @Test
    void helpListsTheCommands() throws Exception {
        Commands.Result r = Commands.peft4j("--help");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("params") && r.out().contains("bench"), r.out());
    }

    @Test
    void paramsGivesLlama2SevenBCountsAsJson() throws Exception {
        Commands.Result lora = params(
                "--method", "lora", "--rank", "32", "--targets", "q_proj,k_proj,v_proj,up_proj,down_proj", "--json");
        assertEquals(0, lora.code(), lora.err());
        JsonNode j = new ObjectMapper().readTree(lora.out());
        assertEquals(56_098_816L, j.get("trainable").asLong());
        assertEquals(56_098_816L, j.get("trainable_after_freeze").asLong());
        assertEquals(6_738_415_616L, j.get("total").asLong());

        Commands.Result lamda = params(
                "--method",
                "lamda",
                "--rank",
                "64",
                "--targets",
                "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj",
                "--json");
        assertEquals(0, lamda.code(), lamda.err());
        assertEquals(
                917_504L,
                new ObjectMapper()
                        .readTree(lamda.out())
                        .get("trainable_after_freeze")
                        .asLong());
    }

    @Test
    void paramsTablePrintsThePeftLine() throws Exception {
        Commands.Result r = params("--method", "neat", "--rank", "8");
        assertEquals(0, r.code(), r.err());
        // Neat rows: 2 r d_out per target; q,k,v: 3 * 2*8*4096, up: 2*8*11008, down: 2*8*4096; 32 layers.
        long expected = 32L * (3 * 2 * 8 * 4096 + 2 * 8 * 11008 + 2 * 8 * 4096);
        assertTrue(
                r.out()
                        .contains(String.format(
                                "trainable params: %,d || all params: %,d", expected, 6_738_415_616L + expected)),
                r.out());
    }

    @Test
    void badInputExitsTwoWithTheReason() throws Exception {
        Commands.Result option = params("--method", "lamda", "--rank", "8", "--freeze-fracton", "0.3");
        assertEquals(2, option.code());
        assertTrue(
                option.err().contains("unknown option --freeze-fracton (did you mean --freeze-fraction?)"),
                option.err());
        Commands.Result rank = params("--method", "lora", "--rank", "9000");
        assertEquals(2, rank.code());
        assertTrue(rank.err().contains("rank must be <= min(d_in, d_out) = 4096, found 9000"), rank.err());
        Commands.Result pp = params("--method", "lamda++", "--rank", "8");
        assertEquals(2, pp.code());
        assertTrue(pp.err().contains("needs the weights"), pp.err());
        Commands.Result missing = Commands.peft4j(
                "params", "--model-config", "/nonexistent/config.json", "--method", "lora", "--rank", "8");
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("/nonexistent/config.json: no such file"), missing.err());
    }

    @Test
    void benchLayerRunsASmallShapeAndReportsEveryAdapter() throws Exception {
        Commands.Result r =
                Commands.peft4j("bench-layer", "--d", "256", "--rank", "8", "--tokens", "128", "--reps", "1", "--json");
        List<JsonNode> lines = jsonLines(r, 5);
        JsonNode lora = lines.get(1);
        JsonNode lamdaFrozen = lines.get(3);
        assertEquals("lora", lora.get("adapter").asText());
        assertEquals(128L * (256 + 8) * 4, lora.get("kept_bytes").asLong(), "LoRA keeps x and u");
        assertEquals("lamda-frozen-b", lamdaFrozen.get("adapter").asText());
        assertEquals(128L * 8 * 4, lamdaFrozen.get("kept_bytes").asLong(), "frozen-B LaMDA keeps only u");
        assertEquals(64L, lamdaFrozen.get("trainable").asLong(), "r^2 trainable once B is frozen");
        assertTrue(lines.get(0).get("gemm_gflops").asDouble() > 0);
    }

    @Test
    void modelBenchRunsEachMethodInItsOwnJvm() throws Exception {
        Commands.Result r = Commands.peft4j(
                "bench",
                "--d",
                "64",
                "--layers",
                "1",
                "--heads",
                "4",
                "--vocab",
                "100",
                "--seq",
                "16",
                "--batch",
                "2",
                "--rank",
                "4",
                "--steps",
                "1",
                "--methods",
                "none,lamda,lamda-frozen-b",
                "--json");
        List<JsonNode> lines = jsonLines(r, 3);
        JsonNode none = lines.get(0);
        JsonNode lamda = lines.get(1);
        JsonNode frozen = lines.get(2);
        assertEquals(0, none.get("trainable").asLong());
        // q,k,v,up,down: r^2 + r d_out each while B trains (ffn = 8*64/3 rounded down to 64 = 128).
        assertEquals(
                5 * 16 + 4 * (64 + 64 + 64 + 128 + 64), lamda.get("trainable").asLong());
        assertEquals(5 * 16, frozen.get("trainable").asLong(), "only S trains once B is frozen");
        for (JsonNode n : List.of(none, lamda, frozen)) {
            assertTrue(
                    n.get("tokens_per_s").asDouble() > 0
                            && n.get("peak_rss_mb").asDouble() > 0
                            && n.get("mfu").asDouble() > 0,
                    n.toString());
            // MFU is the peer's FLOP count over the best step and the best GEMM rate reported beside it: forward
            // 2 x 32 tokens x (linears 40,960 + head 6,400 parameters) + 2 x attention 65,536, doubled when training.
            double flops = 3162112.0 * (n == none ? 1 : 2);
            double reported = n.get("mfu").asDouble()
                    * n.get("gemm_gflops").asDouble()
                    * 1e9
                    * n.get("step_s").asDouble();
            assertEquals(flops, reported, flops * 1e-9, n.toString());
        }
    }

    @Test
    void promptsShowsWhatTheModelIsTrainedOnAndReportsBadRecords() throws Exception {
        Path fixture = ROOT.resolve("datasets/src/test/resources/fixtures/commonsense_170k.json");
        Commands.Result r =
                Commands.peft4j("prompts", "--dataset", "commonsense", "--file", fixture.toString(), "--limit", "3");
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(3, lines.size());
        JsonNode first = new ObjectMapper().readTree(lines.get(0));
        assertTrue(first.get("prompt").asText().startsWith("Below is an instruction that describes a task."));
        assertTrue(first.get("prompt").asText().endsWith("\n\n### Response:\n"));
        assertEquals(
                "the correct answer is " + first.get("answer").asText(),
                first.get("response").asText());

        Path bad = Files.createTempFile("bad", ".jsonl");
        Files.writeString(bad, "{\"question\": \"q\", \"answer\": \"#### 1\"}\n{\"question\": \"q2\"}\n");
        Commands.Result failing = Commands.peft4j("prompts", "--dataset", "gsm8k", "--file", bad.toString());
        assertEquals(2, failing.code());
        assertTrue(failing.err().contains(bad + ": record 2 (line 2): field 'answer' is missing"), failing.err());
        Commands.Result skipping =
                Commands.peft4j("prompts", "--dataset", "gsm8k", "--file", bad.toString(), "--on-bad-record", "skip");
        assertEquals(0, skipping.code(), skipping.err());
        assertEquals(1, skipping.out().lines().count());
        assertTrue(skipping.err().contains("1 records read, 1 skipped"), skipping.err());
    }
}
