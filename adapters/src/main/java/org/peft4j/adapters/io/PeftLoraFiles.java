package org.peft4j.adapters.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.core.LoraForm;

/**
 * The PEFT LoRA adapter directory format, as PEFT 0.21 writes and reads it: {@code adapter_model.safetensors} with
 * {@code base_model.model.<module path>.lora_A.weight} (r x d_in) and {@code .lora_B.weight} (d_out x r) (and, for
 * {@code SEQ_CLS}, the head as {@code base_model.model.score.weight}, labels x hidden), metadata {"format": "pt"};
 * {@code adapter_config.json} with PEFT's own keys only (unknown keys make PEFT warn). PEFT computes
 * {@code W0 x + lora_B(lora_A(x)) * lora_alpha / r} (or {@code / sqrt(r)} with {@code use_rslora}), with per-module
 * r and alpha from {@code rank_pattern} and {@code alpha_pattern} (regular expressions matched against the end of
 * the module path, first match wins).
 *
 * <p>In memory, matrices are in this project's {@code y = x W} layout: {@code a} is d_in x r, {@code b} r x d_out.
 */
public final class PeftLoraFiles {
    public static final String PREFIX = "base_model.model.";
    private static final String HEAD = "score.weight";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private PeftLoraFiles() {}

    /**
     * A PEFT LoRA directory as read.
     *
     * @param taskType CAUSAL_LM, or SEQ_CLS with a {@code head} (hidden x labels, this project's layout)
     */
    public record Read(
            LoraForm lora, String taskType, INDArray head, String baseModel, double dropout, List<Integer> layers) {

        /** The module names adapted (q_proj, ...), in first-seen order. */
        public List<String> targetModules() {
            Set<String> out = new LinkedHashSet<>();
            for (LoraForm.Module m : lora.modules()) {
                out.add(m.path().substring(m.path().lastIndexOf('.') + 1));
            }
            return List.copyOf(out);
        }
    }

    /** The directory's two files; {@code head} (hidden x labels) is written for SEQ_CLS, else null. */
    public static Map<String, byte[]> write(
            LoraForm a, String taskType, INDArray head, String baseModel, double dropout, List<Integer> layers) {
        Map<String, INDArray> tensors = new LinkedHashMap<>();
        Map<String, Object> rankPattern = new TreeMap<>();
        Map<String, Object> alphaPattern = new TreeMap<>();
        for (LoraForm.Module m : a.modules()) {
            tensors.put(PREFIX + m.path() + ".lora_A.weight", m.a().transpose().dup('c'));
            tensors.put(PREFIX + m.path() + ".lora_B.weight", m.b().transpose().dup('c'));
            if (m.rank() != a.rank()) {
                rankPattern.put(escape(m.path()), m.rank());
            }
            if (m.alpha() != a.alpha()) {
                alphaPattern.put(escape(m.path()), number(m.alpha()));
            }
        }
        if (head != null) {
            tensors.put(PREFIX + HEAD, head.transpose().dup('c'));
        }
        ObjectNode c = JSON.createObjectNode();
        c.put("peft_type", "LORA");
        c.put("task_type", taskType);
        c.put("base_model_name_or_path", baseModel);
        c.put("r", a.rank());
        c.putPOJO("lora_alpha", number(a.alpha()));
        c.put("use_rslora", a.rsLora());
        c.putPOJO("target_modules", new Read(a, taskType, head, baseModel, dropout, layers).targetModules());
        if (layers != null) {
            c.putPOJO("layers_to_transform", layers);
        }
        c.putPOJO("rank_pattern", rankPattern);
        c.putPOJO("alpha_pattern", alphaPattern);
        if (head != null) {
            c.putPOJO("modules_to_save", List.of("classifier", "score"));
        } else {
            c.putNull("modules_to_save");
        }
        c.put("bias", "none");
        c.put("fan_in_fan_out", false);
        c.put("lora_dropout", dropout);
        c.put("use_dora", false);
        c.put("inference_mode", true);
        c.put("init_lora_weights", true);
        Map<String, byte[]> files = new LinkedHashMap<>();
        try {
            files.put(AdapterCheckpoint.CONFIG, JSON.writeValueAsBytes(c));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        files.put(AdapterCheckpoint.TENSORS, Safetensors.write(tensors, Map.of("format", "pt")));
        return files;
    }

    /** A module path as a regular expression that matches exactly it (its dots escaped). */
    private static String escape(String path) {
        return path.replace(".", "\\.");
    }

    /** Integral alphas as integers, as PEFT users write them (lora_alpha: 16). */
    private static Object number(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? (Object) (long) v : (Object) v;
    }

    /**
     * Whether an adapter_config.json is PEFT's LoRA rather than peft4j's own format (which names its method, and
     * before version 0.1.0 also said "LORA").
     */
    public static boolean isPeftLora(JsonNode config) {
        return config.path("peft_type").asText("").equals("LORA") && !config.has("method");
    }

    /**
     * Reads a PEFT LoRA directory, written by PEFT or by peft4j. Settings that change the maths and are not
     * implemented (DoRA, LoRA biases, trained biases, fan_in_fan_out, layer replication, target parameters, trainable
     * tokens, modules to save other than a SEQ_CLS head, aLoRA), and tensors nothing would use, are refused by name.
     */
    public static Read read(JsonNode c, byte[] tensorBytes, String source) {
        String where = source + "/" + AdapterCheckpoint.CONFIG;
        refuseIf(c, "use_dora", v -> v.asBoolean(false), where, "DoRA is not implemented");
        refuseIf(c, "lora_bias", v -> v.asBoolean(false), where, "LoRA biases are not implemented");
        refuseIf(
                c,
                "bias",
                v -> !v.isNull() && !v.asText().equals("none"),
                where,
                "trained biases are not" + " implemented");
        refuseIf(
                c,
                "fan_in_fan_out",
                v -> v.asBoolean(false),
                where,
                "fan_in_fan_out (Conv1D models) is not" + " implemented");
        for (String k : List.of(
                "layer_replication",
                "target_parameters",
                "trainable_token_indices",
                "alora_invocation_tokens",
                "megatron_config")) {
            refuseIf(c, k, v -> !v.isNull() && !(v.isContainerNode() && v.isEmpty()), where, "not implemented");
        }
        String task =
                c.path("task_type").isNull() ? "CAUSAL_LM" : c.path("task_type").asText("CAUSAL_LM");
        if (!task.equals("CAUSAL_LM") && !task.equals("SEQ_CLS")) {
            throw new IllegalArgumentException(
                    where + ": key 'task_type': " + task + " is not implemented (CAUSAL_LM," + " SEQ_CLS)");
        }
        int r = c.path("r").asInt(8);
        double alpha = c.path("lora_alpha").asDouble(8);
        Map<String, INDArray> t = Safetensors.read(tensorBytes, source + "/" + AdapterCheckpoint.TENSORS);
        INDArray head = null;
        Map<String, INDArray[]> byModule = new LinkedHashMap<>();
        for (Map.Entry<String, INDArray> e : t.entrySet()) {
            String k = e.getKey();
            if (k.equals(PREFIX + HEAD) && task.equals("SEQ_CLS")) {
                head = e.getValue().transpose().dup('c');
                continue;
            }
            boolean isA = k.endsWith(".lora_A.weight");
            if (!k.startsWith(PREFIX) || !(isA || k.endsWith(".lora_B.weight"))) {
                throw new IllegalArgumentException(source + "/" + AdapterCheckpoint.TENSORS + ": tensor '" + k
                        + "' is not a LoRA factor of a linear layer; nothing would use it, so it is refused");
            }
            String path = k.substring(PREFIX.length(), k.length() - ".lora_A.weight".length());
            byModule.computeIfAbsent(path, p -> new INDArray[2])[isA ? 0 : 1] =
                    e.getValue().transpose().dup('c');
        }
        if (task.equals("SEQ_CLS") && head == null) {
            throw new IllegalArgumentException(source + ": task_type SEQ_CLS but no " + PREFIX + HEAD + " tensor");
        }
        List<LoraForm.Module> modules = new ArrayList<>();
        for (Map.Entry<String, INDArray[]> e : byModule.entrySet()) {
            INDArray[] ab = e.getValue();
            if (ab[0] == null || ab[1] == null || ab[0].columns() != ab[1].rows()) {
                throw new IllegalArgumentException(source + ": module " + e.getKey() + " needs lora_A (r x d_in) and"
                        + " lora_B (d_out x r) of one rank");
            }
            int rank = (int) ab[0].columns();
            int expected = pattern(c.path("rank_pattern"), e.getKey(), r);
            if (rank != expected) {
                throw new IllegalArgumentException(source + ": module " + e.getKey() + " has rank " + rank + ", "
                        + AdapterCheckpoint.CONFIG + " (r, rank_pattern) says " + expected);
            }
            double a = patternNumber(c.path("alpha_pattern"), e.getKey(), alpha);
            modules.add(new LoraForm.Module(e.getKey(), ab[0], ab[1], a));
        }
        if (modules.isEmpty()) {
            throw new IllegalArgumentException(source + ": " + AdapterCheckpoint.TENSORS + " holds no LoRA factors");
        }
        LoraForm lora = new LoraForm(modules, r, alpha, c.path("use_rslora").asBoolean(false));
        List<Integer> layers = null;
        JsonNode l = c.get("layers_to_transform");
        if (l != null && !l.isNull()) {
            layers = new ArrayList<>();
            for (JsonNode i : l.isArray() ? l : JSON.createArrayNode().add(l)) {
                layers.add(i.asInt());
            }
        }
        return new Read(
                lora,
                task,
                head,
                c.path("base_model_name_or_path").asText(null),
                c.path("lora_dropout").asDouble(0),
                layers);
    }

    private interface Test {
        boolean bad(JsonNode v);
    }

    private static void refuseIf(JsonNode c, String key, Test bad, String where, String why) {
        JsonNode v = c.get(key);
        if (v != null && bad.bad(v)) {
            throw new IllegalArgumentException(where + ": key '" + key + "' is " + v + ": " + why);
        }
    }

    /** PEFT's get_pattern_key: the first pattern key k with (.*\.)?(k)$ matching the module path. */
    private static int pattern(JsonNode patterns, String path, int dflt) {
        return (int) patternNumber(patterns, path, dflt);
    }

    private static double patternNumber(JsonNode patterns, String path, double dflt) {
        if (patterns == null || !patterns.isObject()) {
            return dflt;
        }
        for (var it = patterns.fields(); it.hasNext(); ) {
            var e = it.next();
            if (Pattern.compile("(.*\\.)?(" + e.getKey() + ")$").matcher(path).matches()) {
                return e.getValue().asDouble();
            }
        }
        return dflt;
    }
}
