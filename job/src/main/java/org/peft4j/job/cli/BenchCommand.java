package org.peft4j.job.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.buffer.DataType;
import org.peft4j.adapters.bench.AlignedAb;
import org.peft4j.adapters.bench.ModelBench;
import org.peft4j.adapters.model.llama.LlamaConfig;
import org.peft4j.job.model.ModelDtype;

/**
 * {@code bench}: a whole-model training step per method, each in its own JVM so that its peak RSS is its own, with
 * MFU against the best GEMM rate of the model's dtype probed in the same process between the steps.
 */
final class BenchCommand implements Command {
    static final String METHODS = "none,lora,lamda,lamda-frozen-b,neat";

    @Override
    public String name() {
        return "bench";
    }

    @Override
    public String summary() {
        return "train a synthetic LLaMA-shaped model per adapter: tokens/s, peak RSS, MFU (same shapes as the peer)";
    }

    @Override
    public String usage() {
        return """
                usage: deploy/peft4j bench [--d 1024] [--layers 8] [--heads 16] [--kv-heads 0] [--ffn 0]
                                           [--vocab 32000] [--seq 512] [--batch 4] [--rank 16] [--steps 3]
                                           [--targets q_proj,k_proj,v_proj,up_proj,down_proj]
                                           [--methods %s]
                                           [--dtype fp32|bf16] [--model-config FILE] [--scored 1]
                                           [--json] [--ab aligned]
                  One child JVM per method (none = no adapter, forward only; lamda-frozen-b = LaMDA after PMB
                  freezing). Shapes, FLOP count and MFU follow ../shared/peer/hf_peft_bench.py: ffn 0 means
                  8d/3 rounded down to 64, kv-heads 0 means no GQA. --dtype bf16 stores the embedding, linears and
                  head in bf16 (model.dtype = bfloat16) and takes MFU against the bf16 GEMM rate. MFU is the best
                  step against the best rate of a 2048^3 product probed before the first step and after each one
                  (its operands, 32 MB in bf16 and 48 in fp32, count in the peak RSS). --model-config
                  takes d, ffn, layers, heads, kv-heads and vocab from a Hugging Face config.json (e.g.
                  conf/model-configs/llama-2-7b.json: random weights of that shape are built in memory; give the
                  JVM room: PEFT4J_NATIVE=20g). The GEMM backend is PEFT4J_GEMM's (auto: oneDNN).
                  --scored F: the loss scores only the last F of each sequence's tokens (a prompt masked before
                  them, as data.train_on_inputs = false does); only those go through the LM head, and the FLOP
                  count takes the head's for them only. The peer has no such option: it scores every token.
                  --ab aligned: per method, one JVM with two models, 64-byte aligned arrays off and on, stepped
                  alternately for --steps pairs; prints one JSON line per method (seconds per step each way, medians,
                  speedup, pairs where aligned was faster).""".formatted(METHODS);
    }

    @Override
    public int run(List<String> argv, PrintStream out) throws Exception {
        Args a = Args.parse(argv, Set.of("json"));
        ModelBench.Shape shape = new ModelBench.Shape(
                null,
                a.integer("d", 1024),
                a.integer("ffn", 0),
                a.integer("layers", 8),
                a.integer("heads", 16),
                a.integer("kv_heads", 0),
                a.integer("vocab", 32000),
                a.integer("seq", 512),
                a.integer("batch", 4),
                a.integer("rank", 16),
                List.of(a.get("targets", "q_proj,k_proj,v_proj,up_proj,down_proj")
                        .split(",")),
                scored(a));
        int steps = a.integer("steps", 3);
        ModelDtype dtype = ModelDtype.parse(a.get("dtype", "fp32"), "--dtype");
        if (dtype == ModelDtype.AUTO) {
            throw new IllegalArgumentException("--dtype: expected fp32 or bf16 (a synthetic model has no checkpoint"
                    + " dtype for auto to follow), found auto");
        }
        String modelConfig = a.get("model_config", null);
        if (modelConfig != null) {
            Path p = Path.of(modelConfig);
            shape = shape.of(LlamaConfig.parse(Files.readAllBytes(p), p.toString()));
        }
        String methods = a.get("methods", METHODS);
        String child = a.get("child", null);
        String ab = a.get("ab", null);
        if (ab != null && !ab.equals("aligned")) {
            throw new IllegalArgumentException("--ab: expected aligned, found '" + ab + "'");
        }
        boolean json = a.flag("json") || ab != null;
        a.finish();
        if (shape.d() % shape.heads() != 0) {
            throw new IllegalArgumentException("--d " + shape.d() + " must be a multiple of --heads " + shape.heads());
        }
        ObjectMapper mapper = new ObjectMapper();
        if (child != null) {
            DataType storage = dtype == ModelDtype.BFLOAT16 ? DataType.BFLOAT16 : DataType.FLOAT;
            out.println(mapper.writeValueAsString(
                    ab != null
                            ? toMap(AlignedAb.run(shape, child, steps, storage))
                            : toMap(ModelBench.run(shape, child, steps, storage), shape)));
            return ExitCode.OK;
        }
        List<JsonNode> rows = new ArrayList<>();
        for (String m : methods.split(",")) {
            if (!Set.of(METHODS.split(",")).contains(m)) {
                throw new IllegalArgumentException("--methods: unknown method '" + m + "' (one of " + METHODS + ")");
            }
            rows.add(runChild(argv, m, mapper));
            if (json) {
                out.println(mapper.writeValueAsString(rows.get(rows.size() - 1)));
            }
        }
        if (!json) {
            out.printf(
                    "%s d=%d layers=%d heads=%d ffn=%d vocab=%d seq=%d batch=%d rank=%d, one JVM per method%n",
                    dtype.key(),
                    shape.d(),
                    shape.layers(),
                    shape.heads(),
                    shape.ffnOrDefault(),
                    shape.vocab(),
                    shape.seq(),
                    shape.batch(),
                    shape.rank());
            out.printf(
                    "%-16s %10s %9s %12s %12s %10s %6s%n",
                    "method", "tokens/s", "step s", "trainable", "peak RSS MB", "GEMM GF/s", "MFU");
            for (JsonNode r : rows) {
                out.printf(
                        "%-16s %10.1f %9.2f %,12d %12.0f %10.1f %5.0f%%%n",
                        r.get("method").asText(),
                        r.get("tokens_per_s").asDouble(),
                        r.get("step_s").asDouble(),
                        r.get("trainable").asLong(),
                        r.get("peak_rss_mb").asDouble(),
                        r.get("gemm_gflops").asDouble(),
                        100 * r.get("mfu").asDouble());
            }
        }
        return ExitCode.OK;
    }

    /** --scored: the fraction of each sequence's tokens whose labels are scored, its last ones. */
    private static double scored(Args a) {
        Double f = a.number("scored");
        if (f != null && !(f > 0 && f <= 1)) {
            throw new Args.UsageException("option --scored: the fraction of each sequence's tokens the loss scores, in"
                    + " (0, 1], found " + f);
        }
        return f == null ? 1.0 : f;
    }

    private static Map<String, Object> toMap(ModelBench.Result r, ModelBench.Shape s) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("impl", "peft4j");
        o.put("method", r.method());
        o.put("dtype", r.dtype());
        o.put("gemm", r.gemm());
        o.put("gemm_version", org.peft4j.adapters.linalg.Blas.backend().version());
        o.put("tokens_per_s", r.tokensPerSecond());
        o.put("step_s", r.stepSeconds());
        o.put("trainable", r.trainable());
        o.put("peak_rss_mb", r.peakRssMb());
        o.put("gemm_gflops", r.gemmGflops());
        o.put("mfu", r.mfu());
        o.put("scored", s.scored());
        o.put("threads", Runtime.getRuntime().availableProcessors());
        return o;
    }

    private static Map<String, Object> toMap(AlignedAb.Result r) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("impl", "peft4j");
        o.put("ab", "aligned");
        o.put("method", r.method());
        o.put("dtype", r.dtype());
        o.put("off_step_s", r.offSeconds());
        o.put("on_step_s", r.onSeconds());
        o.put("median_off_s", r.medianOff());
        o.put("median_on_s", r.medianOn());
        o.put("speedup", r.speedup());
        o.put("on_faster", r.onFaster());
        o.put("pairs", r.onSeconds().length);
        return o;
    }

    /** The same java, JVM flags and classpath, with {@code --child METHOD}; returns its JSON line. */
    private static JsonNode runChild(List<String> argv, String method, ObjectMapper mapper) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.add("bench");
        for (int i = 0; i < argv.size(); i++) {
            String s = argv.get(i);
            if (s.startsWith("--methods") || s.equals("--json")) {
                if (s.equals("--methods")) {
                    i++;
                }
                continue;
            }
            cmd.add(s);
        }
        cmd.add("--child");
        cmd.add(method);
        Process p = new ProcessBuilder(cmd)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        int rc = p.waitFor();
        if (rc != 0) {
            throw new IllegalStateException("bench child for " + method + " exited with " + rc + ": " + output);
        }
        String[] lines = output.split("\n");
        return mapper.readTree(lines[lines.length - 1]);
    }
}
