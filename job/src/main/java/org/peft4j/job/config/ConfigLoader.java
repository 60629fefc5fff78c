package org.peft4j.job.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.peft4j.adapters.core.AdapterSpec;
import org.peft4j.adapters.core.KeyedOption;
import org.peft4j.adapters.core.Suggest;
import org.peft4j.adapters.registry.AdapterMethods;
import org.peft4j.datasets.Datasets;
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
    static final Set<String> NULLABLE = Set.of("adapter.alpha", "adapter.init_from", "data.eval.path");
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

    private static JobConfig build(Config c, String rendered) {
        JobConfig.Run run = new JobConfig.Run(string(c, "run.output"), c.getLong("run.seed"));
        JobConfig.Model model = new JobConfig.Model(
                string(c, "model.path"), c.getIsNull("adapter.init_from") ? null : string(c, "adapter.init_from"));
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
                    options);
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
        JobConfig.Data data = new JobConfig.Data(
                task,
                List.copyOf(sources),
                dataset(c, "data.eval.dataset", null),
                c.getIsNull("data.eval.path") ? null : string(c, "data.eval.path"),
                integer(c, "data.eval.max_records", 1, Integer.MAX_VALUE),
                oneOf(c, "data.template", List.of("alpaca", "llm-adapters-verbatim")),
                integer(c, "data.max_length", 2, 1 << 20),
                integer(c, "data.batch_rows", 1, 1 << 16),
                oneOf(c, "data.on_bad_record", List.of("fail", "skip")));
        if (data.sequenceTask()) {
            for (JobConfig.Source s : sources) {
                if (!s.dataset().startsWith("glue-")) {
                    throw new IllegalArgumentException(
                            ROOT + ".data.task = sequence needs GLUE sources, found" + " dataset " + s.dataset());
                }
            }
        }
        JobConfig.Train train = new JobConfig.Train(
                integer(c, "train.rounds", 1, 1 << 24),
                integer(c, "train.local_steps", 1, 1 << 24),
                choice(c, "train.optimizer", JobConfig.OptimizerKind.class),
                number(c, "train.lr", 0, 10),
                choice(c, "train.lr_schedule", JobConfig.LrScheduleKind.class),
                integer(c, "train.warmup_steps", 0, 1 << 30),
                number(c, "train.weight_decay", 0, 10));
        Map<String, String> sparkConf = new LinkedHashMap<>();
        c.getConfig("spark.conf")
                .entrySet()
                .forEach(e -> sparkConf.put(
                        e.getKey().replace("\"", ""),
                        String.valueOf(e.getValue().unwrapped())));
        JobConfig.Spark spark =
                new JobConfig.Spark(string(c, "spark.master"), integer(c, "spark.executors", 1, 1 << 16), sparkConf);
        JobConfig.Checkpoint ckpt = new JobConfig.Checkpoint(
                integer(c, "checkpoint.every", 0, 1 << 24), integer(c, "checkpoint.keep", 1, 1 << 16));
        JobConfig.Eval eval =
                new JobConfig.Eval(integer(c, "eval.every", 0, 1 << 24), integer(c, "eval.max_new_tokens", 1, 1 << 16));
        return new JobConfig(run, model, spec, data, train, spark, ckpt, eval, rendered);
    }

    // ---- typed getters whose messages name key, expected, found and origin

    static String string(Config c, String key) {
        return string(c, key, null);
    }

    static String string(Config c, String key, String listPath) {
        ConfigValue v = value(c, key, listPath, "a string");
        if (v.valueType() != ConfigValueType.STRING
                && v.valueType() != ConfigValueType.NUMBER
                && v.valueType() != ConfigValueType.BOOLEAN) {
            throw wrong(key, listPath, "a string", v);
        }
        return String.valueOf(v.unwrapped());
    }

    static int integer(Config c, String key, int min, int max) {
        ConfigValue v = value(c, key, null, "an integer");
        long n;
        if (v.valueType() == ConfigValueType.STRING
                && ((String) v.unwrapped()).strip().matches("-?\\d{1,18}")) {
            n = Long.parseLong(((String) v.unwrapped()).strip()); // -D values are strings; HOCON converts them
        } else if (v.valueType() == ConfigValueType.NUMBER
                && (v.unwrapped() instanceof Integer || v.unwrapped() instanceof Long)) {
            n = ((Number) v.unwrapped()).longValue();
        } else {
            throw wrong(key, null, "an integer in [" + min + ", " + max + "]", v);
        }
        if (n < min || n > max) {
            throw wrong(key, null, "an integer in [" + min + ", " + max + "]", v);
        }
        return (int) n;
    }

    static double number(Config c, String key, double min, double max) {
        return number(c, key, min, max, null);
    }

    static double number(Config c, String key, double min, double max, String listPath) {
        ConfigValue v = value(c, key, listPath, "a number");
        double d;
        if (v.valueType() == ConfigValueType.NUMBER) {
            d = ((Number) v.unwrapped()).doubleValue();
        } else {
            try {
                d = v.valueType() == ConfigValueType.STRING
                        ? Double.parseDouble(((String) v.unwrapped()).strip())
                        : Double.NaN;
            } catch (NumberFormatException e) {
                d = Double.NaN;
            }
            if (Double.isNaN(d)) {
                throw wrong(key, listPath, "a number in [" + min + ", " + max + "]", v);
            }
        }
        if (d < min || d > max) {
            throw wrong(key, listPath, "a number in [" + min + ", " + max + "]", v);
        }
        return d;
    }

    /** The constant of {@code type} whose key the value is, or an error listing the keys. */
    static <E extends Enum<E> & KeyedOption> E choice(Config c, String key, Class<E> type) {
        List<String> keys = new ArrayList<>();
        for (E e : type.getEnumConstants()) {
            keys.add(e.key());
        }
        return KeyedOption.parse(type, key, oneOf(c, key, keys));
    }

    static String oneOf(Config c, String key, List<String> allowed) {
        String s = string(c, key);
        if (!allowed.contains(s)) {
            throw new IllegalArgumentException(where(c.getValue(key)) + ROOT + "." + key + ": expected one of "
                    + allowed + ", found '" + s + "'"
                    + (allowed.size() > 2 ? " (did you mean '" + Suggest.nearest(s, allowed) + "'?)" : ""));
        }
        return s;
    }

    static String dataset(Config c, String key, String listPath) {
        String s = string(c, key, listPath);
        if (!Datasets.names().contains(s)) {
            throw new IllegalArgumentException(where(c.getValue(key)) + ROOT + "."
                    + (listPath == null ? "" : listPath + ".") + key + ": unknown dataset '" + s + "' (did you mean '"
                    + Suggest.nearest(s, Datasets.names()) + "'?)");
        }
        return s;
    }

    static List<String> strings(Config c, String key) {
        ConfigValue v = value(c, key, null, "a list of strings");
        if (v.valueType() != ConfigValueType.LIST) {
            throw wrong(key, null, "a list of strings", v);
        }
        return c.getStringList(key);
    }

    static List<? extends ConfigObject> objects(Config c, String key) {
        ConfigValue v = value(c, key, null, "a list of objects");
        if (v.valueType() != ConfigValueType.LIST) {
            throw wrong(key, null, "a list of objects", v);
        }
        try {
            return c.getObjectList(key);
        } catch (ConfigException.WrongType e) {
            throw wrong(key, null, "a list of objects", v);
        }
    }

    private static ConfigValue value(Config c, String key, String listPath, String expected) {
        if (!c.hasPathOrNull(key)) {
            throw new IllegalArgumentException(ROOT + "." + (listPath == null ? "" : listPath + ".") + key
                    + ": missing (expected " + expected + ")");
        }
        if (c.getIsNull(key)) {
            throw new IllegalArgumentException(where(c.getValue(key)) + ROOT + "."
                    + (listPath == null ? "" : listPath + ".") + key + ": expected " + expected + ", found null");
        }
        return c.getValue(key);
    }

    private static IllegalArgumentException wrong(String key, String listPath, String expected, ConfigValue v) {
        return new IllegalArgumentException(where(v) + ROOT + "." + (listPath == null ? "" : listPath + ".") + key
                + ": expected " + expected + ", found " + v.render(ConfigRenderOptions.concise()));
    }

    /** "file: line N: " for values written in a file or --set; empty for defaults. */
    private static String where(ConfigValue v) {
        var o = v.origin();
        if (o == null || o.description() == null || o.description().contains("reference.conf")) {
            return "";
        }
        String d = o.filename() != null ? o.filename() : o.description().replaceAll(": \\d+$", "");
        return o.lineNumber() > 0 && !d.startsWith("--set") ? d + ": line " + o.lineNumber() + ": " : d + ": ";
    }
}
