package org.peft4j.adapters.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.core.Adapter;
import org.peft4j.adapters.core.AdapterInjector;
import org.peft4j.adapters.core.AdapterParam;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.core.AdapterSpec;
import org.peft4j.adapters.core.LoraForm;
import org.peft4j.adapters.core.TargetLinear;
import org.peft4j.adapters.registry.AdapterMethods;

/**
 * Adapter directories. A method whose update PEFT holds natively (LoRA) is saved in PEFT's own LoRA format
 * ({@link PeftLoraFiles}: {@code PeftModel.from_pretrained} loads it), with peft4j's extras (method options, seed,
 * version) in {@value #PEFT4J}, which PEFT does not read. Other methods are saved in peft4j's format:
 * {@code adapter_config.json} (method, every option, rank per module, base model id, version) and
 * {@code adapter_model.safetensors} with tensors named {@code <module path>.<tensor>} (e.g.
 * {@code model.layers.3.self_attn.q_proj.lamda_S}) in this project's {@code y = x W} layout; {@link #exportPeftLora}
 * writes those as an exact PEFT LoRA too. Loading reads both formats, PEFT LoRA directories written by PEFT itself
 * included (rsLoRA, rank_pattern, alpha_pattern).
 */
public final class AdapterCheckpoint {
    public static final String CONFIG = "adapter_config.json";
    public static final String TENSORS = "adapter_model.safetensors";
    /** peft4j's own settings beside a PEFT-format adapter. */
    public static final String PEFT4J = "peft4j_config.json";
    /** Every file an adapter directory may hold. */
    public static final List<String> FILES = List.of(CONFIG, TENSORS, PEFT4J);

    public static final String VERSION = "0.1.0";
    private static final String HEAD = "score.weight";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private AdapterCheckpoint() {}

    /** The directory's files by name: PEFT's LoRA format plus {@value #PEFT4J} for LoRA, peft4j's otherwise. */
    public static Map<String, byte[]> toFiles(AdapterSet set, String baseModelId) {
        Optional<LoraForm> lora = set.spec().method().nativeLora(set);
        if (lora.isEmpty()) {
            Map<String, INDArray> tensors = new LinkedHashMap<>();
            set.params().forEach((name, p) -> tensors.put(name, p.value()));
            Map<String, byte[]> files = new LinkedHashMap<>();
            files.put(CONFIG, json(peft4jConfig(set, baseModelId, true)));
            files.put(TENSORS, Safetensors.write(tensors, Map.of("format", "pt", "peft4j_version", VERSION)));
            return files;
        }
        Map<String, byte[]> files = new LinkedHashMap<>(PeftLoraFiles.write(
                lora.get(),
                taskType(set),
                head(set),
                baseModelId,
                set.spec().dropout(),
                set.spec().layers()));
        files.put(PEFT4J, json(peft4jConfig(set, baseModelId, false)));
        return files;
    }

    /**
     * Any method's adapters as an exact PEFT LoRA (each module's update as its rank-r factors, scaling 1: lora_alpha
     * = r per module), for serving with PEFT, vLLM or TGI. Fails, saying why, for an update that is not rank r.
     */
    public static Map<String, byte[]> exportPeftLora(AdapterSet set, String baseModelId) {
        List<LoraForm.Module> modules = new ArrayList<>();
        for (TargetLinear t : set.targets()) {
            LoraForm.Factors f = t.adapter().loraFactors();
            // The factors carry the scaling, so alpha = their width (PiSSA's is 2r: the update and the initial one).
            modules.add(new LoraForm.Module(t.path(), f.a(), f.b(), f.a().columns()));
        }
        // r: the spec's rank, unless no module has it (PiSSA's are all 2r wide); the others go to rank_pattern.
        int spec = set.spec().rank();
        int r = modules.stream().anyMatch(m -> m.rank() == spec)
                ? spec
                : modules.get(0).rank();
        return PeftLoraFiles.write(
                new LoraForm(modules, r, r, false),
                taskType(set),
                head(set),
                baseModelId,
                0.0,
                set.spec().layers());
    }

    private static Map<String, Object> peft4jConfig(AdapterSet set, String baseModelId, boolean peftType) {
        AdapterSpec spec = set.spec();
        Map<String, Object> cfg = new LinkedHashMap<>();
        if (peftType) {
            // Not a PEFT type: PEFT refuses the directory instead of loading it as something it is not.
            cfg.put("peft_type", "PEFT4J_" + spec.method().name().toUpperCase().replace("++", "_PLUS_PLUS"));
        }
        cfg.put("method", spec.method().name());
        cfg.put("peft4j_version", VERSION);
        cfg.put("base_model_name_or_path", baseModelId);
        cfg.put("r", spec.rank());
        cfg.put("alpha", spec.alpha());
        cfg.put("target_modules", spec.targets());
        cfg.put("seed", spec.seed());
        cfg.put("options", spec.options().toJson());
        cfg.put("dropout", spec.dropout());
        cfg.put("layers", spec.layers());
        cfg.put("rank_pattern", set.ranks());
        Map<String, long[]> saved = new LinkedHashMap<>();
        set.modulesToSave().forEach((name, p) -> saved.put(name, p.value().shape()));
        cfg.put("modules_to_save", saved);
        cfg.put("layout", "y = x W + s * delta(x), W is (d_in x d_out)");
        return cfg;
    }

    private static String taskType(AdapterSet set) {
        return set.modulesToSave().containsKey(HEAD) ? "SEQ_CLS" : "CAUSAL_LM";
    }

    private static INDArray head(AdapterSet set) {
        AdapterParam h = set.modulesToSave().get(HEAD);
        return h == null ? null : h.value();
    }

    private static byte[] json(Object o) {
        try {
            return JSON.writeValueAsBytes(o);
        } catch (IOException e) {
            throw new IllegalStateException("cannot serialise adapter config", e);
        }
    }

    public static void save(AdapterSet set, String baseModelId, Path dir) throws IOException {
        Files.createDirectories(dir);
        for (Map.Entry<String, byte[]> f : toFiles(set, baseModelId).entrySet()) {
            Files.write(dir.resolve(f.getKey()), f.getValue());
        }
    }

    public static AdapterSet load(List<TargetLinear> layers, Path dir) throws IOException {
        Map<String, byte[]> files = new LinkedHashMap<>();
        for (String f : FILES) {
            if (Files.exists(dir.resolve(f))) {
                files.put(f, Files.readAllBytes(dir.resolve(f)));
            }
        }
        return load(layers, files, dir.toString());
    }

    /** The spec a directory's files record (peft4j's config, else derived from PEFT's). */
    public static AdapterSpec spec(Map<String, byte[]> files, String source) {
        JsonNode c = parse(files, CONFIG, source);
        if (!PeftLoraFiles.isPeftLora(c)) {
            return peft4jSpec(c, source + "/" + CONFIG);
        }
        if (files.containsKey(PEFT4J)) {
            return peft4jSpec(parse(files, PEFT4J, source), source + "/" + PEFT4J);
        }
        PeftLoraFiles.Read r = PeftLoraFiles.read(c, require(files, TENSORS, source), source);
        return AdapterMethods.spec(
                "lora",
                r.lora().rank(),
                r.lora().alpha(),
                r.targetModules(),
                0L,
                Map.of("rslora", Boolean.toString(r.lora().rsLora())));
    }

    private static AdapterSpec peft4jSpec(JsonNode c, String where) {
        Map<String, String> options = new LinkedHashMap<>();
        c.path("options")
                .fields()
                .forEachRemaining(e -> options.put(e.getKey(), e.getValue().asText()));
        List<String> targets = new ArrayList<>();
        c.path("target_modules").forEach(t -> targets.add(t.asText()));
        JsonNode method = c.get("method");
        if (method == null || !method.isTextual()) {
            throw new IllegalArgumentException(where + ": key 'method' missing or not a string");
        }
        try {
            return AdapterMethods.spec(
                    method.asText(),
                    c.path("r").asInt(),
                    c.path("alpha").asDouble(),
                    targets,
                    c.path("seed").asLong(),
                    options);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
        }
    }

    /**
     * A directory's tensors under this project's names ({@code <module path>.<tensor>}, {@code score.weight}) and
     * layout, whichever format it is in.
     */
    public static Map<String, INDArray> tensors(Map<String, byte[]> files, String source) {
        JsonNode c = parse(files, CONFIG, source);
        byte[] tensors = require(files, TENSORS, source);
        if (!PeftLoraFiles.isPeftLora(c)) {
            return Safetensors.read(tensors, source + "/" + TENSORS);
        }
        PeftLoraFiles.Read r = PeftLoraFiles.read(c, tensors, source);
        Map<String, INDArray> out = new LinkedHashMap<>();
        for (LoraForm.Module m : r.lora().modules()) {
            out.put(m.path() + ".lora_A", m.a());
            out.put(m.path() + ".lora_B", m.b());
        }
        if (r.head() != null) {
            out.put(HEAD, r.head());
        }
        return out;
    }

    /**
     * Loads a directory's tensors into adapters already built from a run's configuration (training from an adapter,
     * eval): the directory must record the same method, targets and options, the same scaling per module, and every
     * tensor in the same shape; frozen tensors are checked, not overwritten.
     */
    public static void loadValues(Map<String, byte[]> files, AdapterSet set, String source) {
        AdapterSpec saved = spec(files, source);
        AdapterSpec s = set.spec();
        List<String> diffs = new ArrayList<>();
        if (!saved.method().equals(s.method())) {
            diffs.add("method " + saved.method().name() + " (the configuration: "
                    + s.method().name() + ")");
        }
        if (!new java.util.HashSet<>(saved.targets()).equals(new java.util.HashSet<>(s.targets()))) {
            diffs.add("targets " + saved.targets() + " (the configuration: " + s.targets() + ")");
        }
        if (!saved.options().toJson().equals(s.options().toJson())) {
            diffs.add("options " + saved.options().toJson() + " (the configuration: "
                    + s.options().toJson() + ")");
        }
        JsonNode c = parse(files, CONFIG, source);
        if (PeftLoraFiles.isPeftLora(c)) {
            LoraForm lora = PeftLoraFiles.read(c, require(files, TENSORS, source), source)
                    .lora();
            Map<String, Double> scaling = new LinkedHashMap<>();
            set.targets().forEach(t -> scaling.put(t.path(), t.adapter().scaling()));
            for (LoraForm.Module m : lora.modules()) {
                Double mine = scaling.get(m.path());
                if (mine != null && Math.abs(mine - lora.scaling(m)) > 1e-12 * Math.abs(mine)) {
                    diffs.add("module " + m.path() + " scales by " + lora.scaling(m) + " (lora_alpha, alpha_pattern,"
                            + " use_rslora; the configuration: " + mine + ")");
                }
            }
        } else if (saved.alpha() != s.alpha()) {
            diffs.add("alpha " + saved.alpha() + " (the configuration: " + s.alpha() + ")");
        }
        if (!diffs.isEmpty()) {
            throw new IllegalArgumentException(
                    source + ": the adapter was not made by this configuration: " + String.join("; ", diffs));
        }
        Map<String, INDArray> tensors = tensors(files, source);
        for (Map.Entry<String, AdapterParam> e : set.params().entrySet()) {
            INDArray v = tensors.get(e.getKey());
            if (v == null || !Arrays.equals(v.shape(), e.getValue().value().shape())) {
                throw new IllegalArgumentException(source + ": tensor " + e.getKey()
                        + (v == null
                                ? " is missing"
                                : " has shape " + Arrays.toString(v.shape()) + ", expected "
                                        + Arrays.toString(e.getValue().value().shape()))
                        + "; was it saved by this configuration?");
            }
            if (!e.getValue().alwaysFrozen()) {
                e.getValue().value().assign(v.castTo(e.getValue().value().dataType()));
            }
        }
    }

    /** Rebuilds the adapters on {@code layers} (a freshly loaded base model) from a directory's files. */
    public static AdapterSet load(List<TargetLinear> layers, Map<String, byte[]> files, String source) {
        AdapterSpec spec = spec(files, source);
        JsonNode c = parse(files, CONFIG, source);
        Map<String, Integer> ranks = new LinkedHashMap<>();
        Map<String, Double> alphas = new LinkedHashMap<>();
        if (PeftLoraFiles.isPeftLora(c)) {
            PeftLoraFiles.Read r = PeftLoraFiles.read(c, require(files, TENSORS, source), source);
            for (LoraForm.Module m : r.lora().modules()) {
                ranks.put(m.path(), m.rank());
                alphas.put(m.path(), m.alpha());
            }
        } else {
            c.path("rank_pattern")
                    .fields()
                    .forEachRemaining(e -> ranks.put(e.getKey(), e.getValue().asInt()));
        }
        Map<String, INDArray> tensors = tensors(files, source);
        Map<TargetLinear, Adapter> blank = AdapterInjector.blank(layers, spec, ranks, alphas);
        Map<String, INDArray> unused = new LinkedHashMap<>(tensors);
        for (Map.Entry<TargetLinear, Adapter> e : blank.entrySet()) {
            String module = e.getKey().path();
            for (AdapterParam p : e.getValue().params()) {
                String name = module + "." + p.name();
                INDArray t = unused.remove(name);
                if (t == null) {
                    throw new IllegalArgumentException(
                            source + ": module " + module + ": tensor " + p.name() + " missing from " + TENSORS);
                }
                if (!Arrays.equals(t.shape(), p.value().shape())) {
                    throw new IllegalArgumentException(source + ": module " + module + ": tensor " + p.name()
                            + " has shape " + Arrays.toString(t.shape()) + ", expected "
                            + Arrays.toString(p.value().shape()));
                }
                p.value().assign(t.castTo(p.value().dataType()));
            }
        }
        List<AdapterParam> extras = new ArrayList<>();
        for (String name : modulesToSave(files, c, source)) {
            INDArray t = unused.remove(name);
            if (t == null) {
                throw new IllegalArgumentException(source + ": module to save " + name + " missing from " + TENSORS);
            }
            extras.add(AdapterParam.trainable(name, t.castTo(layers.get(0).computeType())));
        }
        if (!unused.isEmpty()) {
            throw new IllegalArgumentException(
                    source + ": " + TENSORS + " has tensors no target module expects: " + unused.keySet());
        }
        AdapterSet set = AdapterInjector.attach(spec, blank);
        extras.forEach(set::addModuleToSave);
        return set;
    }

    private static List<String> modulesToSave(Map<String, byte[]> files, JsonNode c, String source) {
        JsonNode own =
                PeftLoraFiles.isPeftLora(c) ? (files.containsKey(PEFT4J) ? parse(files, PEFT4J, source) : null) : c;
        List<String> out = new ArrayList<>();
        if (own != null) {
            own.path("modules_to_save").fieldNames().forEachRemaining(out::add);
        } else if (c.path("task_type").asText("").equals("SEQ_CLS")) {
            out.add(HEAD);
        }
        return out;
    }

    private static byte[] require(Map<String, byte[]> files, String name, String source) {
        byte[] b = files.get(name);
        if (b == null) {
            throw new IllegalArgumentException(source + "/" + name + ": not found (an adapter directory holds " + CONFIG
                    + " and " + TENSORS + ")");
        }
        return b;
    }

    private static JsonNode parse(Map<String, byte[]> files, String name, String source) {
        try {
            JsonNode n = JSON.readTree(require(files, name, source));
            if (n == null || !n.isObject()) {
                throw new IllegalArgumentException(source + "/" + name + ": expected a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw new IllegalArgumentException(source + "/" + name + ": not valid JSON: " + e.getMessage(), e);
        }
    }
}
