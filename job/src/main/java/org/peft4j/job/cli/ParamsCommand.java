package org.peft4j.job.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.peft4j.adapters.core.AdapterMethod;
import org.peft4j.adapters.core.AdapterSpec;
import org.peft4j.adapters.core.MethodOption;
import org.peft4j.adapters.model.llama.LlamaConfig;
import org.peft4j.adapters.plan.ParamPlan;
import org.peft4j.adapters.registry.AdapterMethods;

/** {@code params}: the trainable-parameter plan of a run from a model's config.json, without loading weights. */
final class ParamsCommand implements Command {

    @Override
    public String name() {
        return "params";
    }

    @Override
    public String summary() {
        return "plan a run's trainable parameters from a Hugging Face config.json (no weights loaded)";
    }

    @Override
    public String usage() {
        return """
                usage: deploy/peft4j params --model-config FILE --method %s --rank R
                                            [--targets q_proj,k_proj,...] [--alpha A] [--json] [method options]
                  --model-config  a LLaMA-family config.json (hidden_size, intermediate_size, num_hidden_layers, ...)
                  --targets       modules to adapt; default %s
                  --json          one JSON object: trainable, trainable_after_freeze, total, all,
                                  bytes_per_round_after_freeze (per executor each way, with AdamW), modules
                method options (--key value; default in brackets):
                %s""".formatted(
                        String.join("|", AdapterMethods.names()),
                        String.join(",", AdapterSpec.DEFAULT_TARGETS),
                        methodOptions());
    }

    /** One line per method option, from the registry: {@code lamda --freeze-fraction (0, 1] [0.3]: ...}. */
    static String methodOptions() {
        StringBuilder sb = new StringBuilder();
        for (AdapterMethod m : AdapterMethods.ALL) {
            for (MethodOption<?> o : m.options().list()) {
                sb.append(String.format(
                        "  %-8s --%s %s [%s]: %s%n",
                        m.name(), o.key().replace('_', '-'), o.values(), o.defaultText(), o.doc()));
            }
        }
        return sb.toString().stripTrailing();
    }

    @Override
    public int run(List<String> argv, PrintStream out) throws Exception {
        Args a = Args.parse(argv, Set.of("json"));
        Path configPath = Path.of(a.required("model_config"));
        String method = a.required("method");
        int rank = a.integer("rank", -1);
        if (rank < 0) {
            throw new Args.UsageException("missing option --rank");
        }
        List<String> targets = Arrays.asList(
                a.get("targets", String.join(",", AdapterSpec.DEFAULT_TARGETS)).split(","));
        Double alpha = a.number("alpha");
        boolean json = a.flag("json");
        Map<String, String> options = a.take(
                new LinkedHashSet<>(AdapterMethods.named(method).options().keys()));
        a.finish();
        if (!Files.isRegularFile(configPath)) {
            throw new IllegalArgumentException(configPath + ": no such file");
        }
        LlamaConfig config = LlamaConfig.parse(Files.readAllBytes(configPath), configPath.toString());
        ParamPlan plan = ParamPlan.of(config, AdapterMethods.spec(method, rank, alpha, targets, 0, options));
        out.println(json ? toJson(plan) : table(plan));
        return ExitCode.OK;
    }

    static String table(ParamPlan plan) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(
                "%-10s %8s %8s %7s %16s %22s%n",
                "module", "d_in", "d_out", "layers", "trainable", "trainable_after_freeze"));
        for (ParamPlan.Row r : plan.rows()) {
            sb.append(String.format(
                    "%-10s %8d %8d %7d %,16d %,22d%n",
                    r.module(),
                    r.dIn(),
                    r.dOut(),
                    r.count(),
                    r.count() * r.trainable(),
                    r.count() * r.trainableAfterFreeze()));
        }
        sb.append(String.format(
                "%-10s %8s %8s %7s %,16d %,22d%n", "total", "", "", "", plan.trainable(), plan.trainableAfterFreeze()));
        sb.append(plan.peftLine());
        sb.append(String.format(
                "%nbytes per round after freeze: %,d per executor each way (AdamW: values and two moments, float32)",
                plan.bytesPerRoundAfterFreeze(2)));
        return sb.toString();
    }

    static String toJson(ParamPlan plan) throws Exception {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("method", plan.spec().method().name());
        o.put("rank", plan.spec().rank());
        o.put("trainable", plan.trainable());
        o.put("trainable_after_freeze", plan.trainableAfterFreeze());
        o.put("total", plan.total());
        o.put("all", plan.total() + plan.trainable());
        o.put("bytes_per_round_after_freeze", plan.bytesPerRoundAfterFreeze(2));
        Map<String, Object> modules = new LinkedHashMap<>();
        for (ParamPlan.Row r : plan.rows()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("d_in", r.dIn());
            m.put("d_out", r.dOut());
            m.put("layers", r.count());
            m.put("trainable", r.count() * r.trainable());
            m.put("trainable_after_freeze", r.count() * r.trainableAfterFreeze());
            modules.put(r.module(), m);
        }
        o.put("modules", modules);
        return new ObjectMapper().writeValueAsString(o);
    }
}
