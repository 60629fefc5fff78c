package org.peft4j.job.config;

import static org.peft4j.job.config.ConfigValues.*;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.peft4j.adapters.core.AdapterSpec;
import org.peft4j.adapters.core.Suggest;
import org.peft4j.adapters.registry.AdapterMethods;
import org.peft4j.datasets.glue.GlueTask;
import org.peft4j.job.fs.Locations;

/**
 * Builds a {@link JobConfig} from HOCON, in priority order: {@code --set key=value}, {@code -Dpeft4j.key=value},
 * the run file, then {@code reference.conf} (every key and its default). Every key is checked: an unknown one is an
 * error naming the nearest valid key; a wrong type or range names the key, what was expected, what was found and
 * where it was written.
 */
public final class ConfigLoader {
    static final String ROOT = "peft4j";
    /** Keys whose default is null: absent from the reference's entry set but valid. */
    static final Set<String> NULLABLE = Set.of(
            "adapter.alpha",
            "adapter.init_from",
            "adapter.layers",
            "data.eval.path",
            "data.eval.split",
            "data.micro_batch_rows",
            "train.rounds",
            "train.epochs",
            "train.warmup_ratio",
            "train.max_grad_norm",
            "checkpoint.best",
            "checkpoint.best.metric",
            "checkpoint.best.mode",
            "eval.max_new_tokens");
    /** Sections whose keys are free (method options, Spark settings). */
    static final Set<String> FREE = Set.of("adapter.options", "spark.conf");

    static final Set<String> SOURCE_KEYS = Set.of("dataset", "path", "weight");

    private ConfigLoader() {}

    /** @param file a run file on any file system, or null for the defaults alone */
    public static JobConfig load(String file, List<String> sets) throws IOException {
        ConfigFactory.invalidateCaches(); // re-read -D system properties set since the last load
        Config reference = ConfigFactory.parseResources(ConfigLoader.class.getClassLoader(), "reference.conf");
        Config user = ConfigFactory.empty();
        if (file != null) {
            String text = new String(Locations.read(file), StandardCharsets.UTF_8);
            try {
                user = ConfigFactory.parseString(
                        text, ConfigParseOptions.defaults().setOriginDescription(file));
            } catch (ConfigException e) {
                throw new IllegalArgumentException(file + ": not valid HOCON: " + e.getMessage(), e);
            }
            for (String k : user.root().keySet()) {
                if (!k.equals(ROOT)) {
                    throw new IllegalArgumentException(file + ": unknown top-level key '" + k + "' (every key lives"
                            + " under " + ROOT + ", e.g. " + ROOT + ".train.rounds)");
                }
            }
        }
        Config overrides = ConfigFactory.empty();
        for (String s : sets) {
            overrides = parseSet(s).withFallback(overrides);
        }
        Config system = ConfigFactory.systemProperties().hasPath(ROOT)
                ? ConfigFactory.systemProperties().withOnlyPath(ROOT)
                : ConfigFactory.empty();
        Config merged;
        try {
            merged = overrides
                    .withFallback(system)
                    .withFallback(user)
                    .withFallback(reference)
                    .resolve();
        } catch (ConfigException e) {
            throw new IllegalArgumentException("config: " + e.getMessage(), e);
        }
        checkKeys(merged.getConfig(ROOT), reference.getConfig(ROOT));
        return build(
                merged.getConfig(ROOT),
                merged.root()
                        .withOnlyKey(ROOT)
                        .render(ConfigRenderOptions.defaults()
                                .setOriginComments(false)
                                .setComments(false)
                                .setJson(false)));
    }

    /** {@code key=value}, the value in HOCON syntax; a bare value with "//" or ':' is taken as a string. */
    static Config parseSet(String s) {
        int eq = s.indexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException("--set " + s + ": expected key=value, e.g. train.rounds=20");
        }
        String key = s.substring(0, eq).strip();
        String value = s.substring(eq + 1).strip();
        boolean structured = value.startsWith("[") || value.startsWith("{") || value.startsWith("\"");
        if (!structured && (value.contains("//") || value.contains(":") || value.contains("#"))) {
            value = "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
        }
        ConfigParseOptions origin = ConfigParseOptions.defaults().setOriginDescription("--set " + s);
        try {
            return ConfigFactory.parseString(ROOT + "." + key + " = " + value, origin);
        } catch (ConfigException e) {
            if (structured) {
                throw new IllegalArgumentException("--set " + s + ": " + e.getMessage(), e);
            }
            // Not HOCON syntax (e.g. lamda++): take the text as a string.
            return ConfigFactory.parseString(
                    ROOT + "." + key + " = \"" + value.replace("\\", "\\\\").replace("\"", "\\\"") + "\"", origin);
        }
    }

    static void checkKeys(Config c, Config reference) {
        Set<String> known = new TreeSet<>(NULLABLE);
        reference.entrySet().forEach(e -> known.add(e.getKey()));
        for (Map.Entry<String, ConfigValue> e : c.entrySet()) {
            String key = e.getKey();
            if (FREE.stream().anyMatch(f -> key.startsWith(f + "."))) {
                continue;
            }
            if (!known.contains(key)) {
                throw new IllegalArgumentException(where(e.getValue()) + "unknown key " + ROOT + "." + key
                        + " (did you mean " + ROOT + "." + Suggest.nearest(key, known) + "?)");
            }
        }
    }

    /** Metrics an evaluation reports, which checkpoint.best may pick. */
    static final List<String> METRICS = List.of(
            "eval_loss", "eval_accuracy", "eval_f1", "eval_matthews_correlation", "eval_pearson", "eval_spearman");

    /** The metrics the evaluation of {@code data} reports (see Evaluator and GlueMetrics). */
    static List<String> reported(JobConfig.Data data) {
        if (!data.sequenceTask()) {
            return List.of("eval_loss", "eval_accuracy");
        }
        GlueTask task = GlueTask.ofDataset(data.evalDataset());
        if (task.regression()) {
            return List.of("eval_pearson", "eval_spearman");
        }
        return switch (task.metric()) {
            case F1 -> List.of("eval_accuracy", "eval_f1");
            case MATTHEWS -> List.of("eval_accuracy", "eval_matthews_correlation");
            default -> List.of("eval_accuracy");
        };
    }

    private static JobConfig.Train train(Config c) {
        Integer rounds = nullableInteger(c, "train.rounds", 1, 1 << 24);
        Double epochs = nullableNumber(c, "train.epochs", 1e-9, 1e6);
        int warmupSteps = integer(c, "train.warmup_steps", 0, 1 << 30);
        Double warmupRatio = nullableNumber(c, "train.warmup_ratio", 0, 1);
        double[] betas = numbers(c, "train.adam_betas", 2, 0, 1);
        JobConfig.Train train = new JobConfig.Train(
                rounds,
                epochs,
                integer(c, "train.local_steps", 1, 1 << 24),
                choice(c, "train.optimizer", JobConfig.OptimizerKind.class),
                number(c, "train.lr", 0, 10),
                choice(c, "train.lr_schedule", JobConfig.LrScheduleKind.class),
                warmupSteps,
                warmupRatio,
                number(c, "train.weight_decay", 0, 10),
                nullableNumber(c, "train.max_grad_norm", 1e-12, 1e12),
                betas[0],
                betas[1],
                number(c, "train.adam_eps", 0, 1));
        // Combinations are checked once every key has passed its own check, so a typo is reported first.
        if ((rounds == null) == (epochs == null)) {
            throw new IllegalArgumentException(ROOT + ".train.rounds and " + ROOT + ".train.epochs: expected exactly"
                    + " one of them set, found "
                    + (rounds == null ? "neither" : "both (rounds = " + rounds + ", epochs = " + epochs + ")"));
        }
        if (warmupSteps > 0 && warmupRatio != null) {
            throw new IllegalArgumentException(ROOT + ".train.warmup_steps and " + ROOT + ".train.warmup_ratio:"
                    + " expected at most one of them set, found both (warmup_steps = " + warmupSteps
                    + ", warmup_ratio = " + warmupRatio + ")");
        }
        return train;
    }

    /** checkpoint.best = null, or { metric, mode }; mode defaults to min for eval_loss, max otherwise. */
    private static JobConfig.Best best(Config c) {
        if (c.getIsNull("checkpoint.best")) {
            return null;
        }
        if (!c.hasPathOrNull("checkpoint.best.metric") || c.getIsNull("checkpoint.best.metric")) {
            throw new IllegalArgumentException(where(c.getValue("checkpoint.best")) + ROOT
                    + ".checkpoint.best.metric: expected one of " + METRICS + ", found none (checkpoint.best = null"
                    + " turns it off)");
        }
        String metric = oneOf(c, "checkpoint.best.metric", METRICS);
        boolean maximize = !c.hasPathOrNull("checkpoint.best.mode") || c.getIsNull("checkpoint.best.mode")
                ? !metric.equals("eval_loss")
                : oneOf(c, "checkpoint.best.mode", List.of("min", "max")).equals("max");
        return new JobConfig.Best(metric, maximize);
    }

    private static JobConfig build(Config c, String rendered) {
        JobConfig.Run run = new JobConfig.Run(
                string(c, "run.output"), c.getLong("run.seed"), integer(c, "run.progress_seconds", 0, 3600));
        JobConfig.Model model = new JobConfig.Model(
                string(c, "model.path"),
                c.getIsNull("adapter.init_from") ? null : string(c, "adapter.init_from"),
                choice(c, "model.dtype", org.peft4j.job.model.ModelDtype.class));
        Map<String, String> options = new LinkedHashMap<>();
        c.getConfig("adapter.options")
                .entrySet()
                .forEach(
                        e -> options.put(e.getKey(), String.valueOf(e.getValue().unwrapped())));
        AdapterSpec spec;
        try {
            spec = AdapterMethods.spec(
                            oneOf(c, "adapter.method", AdapterMethods.names()),
                            integer(c, "adapter.rank", 1, 1 << 16),
                            c.getIsNull("adapter.alpha") ? null : number(c, "adapter.alpha", 1e-9, 1e9),
                            strings(c, "adapter.targets"),
                            c.getLong("run.seed"),
                            options)
                    .withDropoutAndLayers(number(c, "adapter.dropout", 0, 0.999999), layers(c, "adapter.layers"));
        } catch (IllegalArgumentException e) {
            throw e.getMessage().startsWith(ROOT)
                    ? e
                    : new IllegalArgumentException(ROOT + ".adapter: " + e.getMessage(), e);
        }
        List<JobConfig.Source> sources = new ArrayList<>();
        List<? extends ConfigObject> list = objects(c, "data.train");
        for (int i = 0; i < list.size(); i++) {
            Config s = list.get(i).toConfig();
            String at = "data.train[" + i + "]";
            for (String k : s.root().keySet()) {
                if (!SOURCE_KEYS.contains(k)) {
                    throw new IllegalArgumentException(where(s.root()) + "unknown key " + ROOT + "." + at + "." + k
                            + " (did you mean " + Suggest.nearest(k, SOURCE_KEYS) + "?)");
                }
            }
            sources.add(new JobConfig.Source(
                    dataset(s, "dataset", at),
                    string(s, "path", at),
                    s.hasPath("weight") ? number(s, "weight", 0, 1e9, at) : 1.0));
        }
        if (sources.isEmpty()) {
            throw new IllegalArgumentException(ROOT + ".data.train: expected at least one source, found none");
        }
        JobConfig.Task task = choice(c, "data.task", JobConfig.Task.class);
        int batchRows = integer(c, "data.batch_rows", 1, 1 << 16);
        Integer micro = nullableInteger(c, "data.micro_batch_rows", 1, 1 << 16);
        if (micro != null && batchRows % micro != 0) {
            throw new IllegalArgumentException(where(c.getValue("data.micro_batch_rows")) + ROOT
                    + ".data.micro_batch_rows: expected a divisor of data.batch_rows = " + batchRows + ", found "
                    + micro);
        }
        Double split = nullableNumber(c, "data.eval.split", 1e-9, 1e12);
        if (split != null && split >= 1 && split != Math.rint(split)) {
            throw wrong(
                    "data.eval.split",
                    null,
                    "a fraction below 1 or a whole number of records",
                    c.getValue("data.eval.split"));
        }
        String evalPath = c.getIsNull("data.eval.path") ? null : string(c, "data.eval.path");
        if (split != null && evalPath != null) {
            throw new IllegalArgumentException(where(c.getValue("data.eval.split")) + ROOT + ".data.eval.split and "
                    + ROOT + ".data.eval.path: expected at most one of them set, found both (split = " + split
                    + ", path = " + evalPath + ")");
        }
        JobConfig.Data data = new JobConfig.Data(
                task,
                List.copyOf(sources),
                dataset(c, "data.eval.dataset", null),
                evalPath,
                integer(c, "data.eval.max_records", 1, Integer.MAX_VALUE),
                split,
                oneOf(c, "data.template", List.of("alpaca", "llm-adapters-verbatim")),
                integer(c, "data.max_length", 2, 1 << 20),
                batchRows,
                micro == null ? batchRows : micro,
                bool(c, "data.group_by_length"),
                bool(c, "data.train_on_inputs"),
                oneOf(c, "data.on_bad_record", List.of("fail", "skip")));
        if (data.sequenceTask()) {
            for (JobConfig.Source s : sources) {
                if (!s.dataset().startsWith("glue-")) {
                    throw new IllegalArgumentException(
                            ROOT + ".data.task = sequence needs GLUE sources, found" + " dataset " + s.dataset());
                }
            }
        }
        JobConfig.Train train = train(c);
        Map<String, String> sparkConf = new LinkedHashMap<>();
        c.getConfig("spark.conf")
                .entrySet()
                .forEach(e -> sparkConf.put(
                        e.getKey().replace("\"", ""),
                        String.valueOf(e.getValue().unwrapped())));
        JobConfig.Spark spark =
                new JobConfig.Spark(string(c, "spark.master"), integer(c, "spark.executors", 1, 1 << 16), sparkConf);
        JobConfig.Checkpoint ckpt = new JobConfig.Checkpoint(
                integer(c, "checkpoint.every", 0, 1 << 24), integer(c, "checkpoint.keep", 1, 1 << 16), best(c));
        JobConfig.Best best = ckpt.best();
        if (best != null && !data.evaluates()) {
            throw new IllegalArgumentException(where(c.getValue("checkpoint.best")) + ROOT + ".checkpoint.best needs an"
                    + " evaluation: expected data.eval.path or data.eval.split set, found both null");
        }
        if (best != null && !reported(data).contains(best.metric())) {
            throw new IllegalArgumentException(where(c.getValue("checkpoint.best.metric")) + ROOT
                    + ".checkpoint.best.metric: expected one of the metrics " + data.evalDataset() + " reports "
                    + reported(data) + ", found " + best.metric());
        }
        JobConfig.Eval eval = new JobConfig.Eval(
                integer(c, "eval.every", 0, 1 << 24),
                nullableInteger(c, "eval.max_new_tokens", 1, 1 << 16),
                integer(c, "eval.num_beams", 1, 64),
                bool(c, "eval.at_start"));
        return new JobConfig(run, model, spec, data, train, spark, ckpt, eval, rendered);
    }
}
