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
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.core.Adapter;
import org.peft4j.adapters.core.AdapterInjector;
import org.peft4j.adapters.core.AdapterParam;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.core.AdapterSpec;
import org.peft4j.adapters.core.TargetLinear;
import org.peft4j.adapters.registry.AdapterMethods;

/**
 * PEFT-style adapter checkpoint: {@code adapter_config.json} (method, every option, rank per module, base model id,
 * version) and {@code adapter_model.safetensors} (tensors named {@code <module path>.<tensor>}, e.g.
 * {@code model.layers.3.self_attn.q_proj.lamda_S}). Matrices use this project's layout, {@code y = x W} with W
 * (d_in x d_out): LoRA's A here is PEFT's {@code lora_A.weight} transposed.
 */
public final class AdapterCheckpoint {
    public static final String CONFIG = "adapter_config.json";
    public static final String TENSORS = "adapter_model.safetensors";
    public static final String VERSION = "0.1.0";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private AdapterCheckpoint() {}

    /** The bytes of an adapter directory's two files. */
    public record AdapterFiles(byte[] config, byte[] tensors) {}

    public static AdapterFiles toBytes(AdapterSet set, String baseModelId) {
        AdapterSpec spec = set.spec();
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("peft_type", spec.method().name().toUpperCase().replace("++", "_PLUS_PLUS"));
        cfg.put("method", spec.method().name());
        cfg.put("peft4j_version", VERSION);
        cfg.put("base_model_name_or_path", baseModelId);
        cfg.put("r", spec.rank());
        cfg.put("alpha", spec.alpha());
        cfg.put("target_modules", spec.targets());
        cfg.put("seed", spec.seed());
        cfg.put("options", spec.options().toJson());
        cfg.put("rank_pattern", set.ranks());
        Map<String, long[]> saved = new LinkedHashMap<>();
        set.modulesToSave().forEach((name, p) -> saved.put(name, p.value().shape()));
        cfg.put("modules_to_save", saved);
        cfg.put("layout", "y = x W + s * delta(x), W is (d_in x d_out)");
        Map<String, INDArray> tensors = new LinkedHashMap<>();
        set.params().forEach((name, p) -> tensors.put(name, p.value()));
        try {
            return new AdapterFiles(
                    JSON.writeValueAsBytes(cfg),
                    Safetensors.write(tensors, Map.of("format", "pt", "peft4j_version", VERSION)));
        } catch (IOException e) {
            throw new IllegalStateException("cannot serialise adapter config", e);
        }
    }

    public static void save(AdapterSet set, String baseModelId, Path dir) throws IOException {
        AdapterFiles f = toBytes(set, baseModelId);
        Files.createDirectories(dir);
        Files.write(dir.resolve(CONFIG), f.config());
        Files.write(dir.resolve(TENSORS), f.tensors());
    }

    public static AdapterSet load(List<TargetLinear> layers, Path dir) throws IOException {
        return load(
                layers,
                Files.readAllBytes(dir.resolve(CONFIG)),
                Files.readAllBytes(dir.resolve(TENSORS)),
                dir.toString());
    }

    /** The spec recorded in a config file. */
    public static AdapterSpec spec(byte[] config, String source) {
        JsonNode c = parse(config, source);
        Map<String, String> options = new LinkedHashMap<>();
        c.path("options")
                .fields()
                .forEachRemaining(e -> options.put(e.getKey(), e.getValue().asText()));
        List<String> targets = new ArrayList<>();
        c.path("target_modules").forEach(t -> targets.add(t.asText()));
        try {
            return AdapterMethods.spec(
                    text(c, "method", source),
                    c.path("r").asInt(),
                    c.path("alpha").asDouble(),
                    targets,
                    c.path("seed").asLong(),
                    options);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + "/" + CONFIG + ": " + e.getMessage(), e);
        }
    }

    /** Rebuilds the adapters on {@code layers} (a freshly loaded base model) from the two files. */
    public static AdapterSet load(List<TargetLinear> layers, byte[] config, byte[] tensorBytes, String source) {
        AdapterSpec spec = spec(config, source);
        Map<String, Integer> ranks = new LinkedHashMap<>();
        parse(config, source)
                .path("rank_pattern")
                .fields()
                .forEachRemaining(e -> ranks.put(e.getKey(), e.getValue().asInt()));
        Map<String, INDArray> tensors = Safetensors.read(tensorBytes, source + "/" + TENSORS);
        Map<TargetLinear, Adapter> blank = AdapterInjector.blank(layers, spec, ranks);
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
        parse(config, source).path("modules_to_save").fields().forEachRemaining(e -> {
            INDArray t = unused.remove(e.getKey());
            if (t == null) {
                throw new IllegalArgumentException(
                        source + ": module to save " + e.getKey() + " missing from " + TENSORS);
            }
            extras.add(AdapterParam.trainable(
                    e.getKey(), t.castTo(layers.get(0).weight().dataType())));
        });
        if (!unused.isEmpty()) {
            throw new IllegalArgumentException(
                    source + ": " + TENSORS + " has tensors no target module expects: " + unused.keySet());
        }
        AdapterSet set = AdapterInjector.attach(spec, blank);
        extras.forEach(set::addModuleToSave);
        return set;
    }

    private static JsonNode parse(byte[] config, String source) {
        try {
            JsonNode n = JSON.readTree(config);
            if (n == null || !n.isObject()) {
                throw new IllegalArgumentException(source + "/" + CONFIG + ": expected a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw new IllegalArgumentException(source + "/" + CONFIG + ": not valid JSON: " + e.getMessage(), e);
        }
    }

    private static String text(JsonNode c, String key, String source) {
        JsonNode v = c.get(key);
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException(source + "/" + CONFIG + ": key '" + key + "' missing or not a string");
        }
        return v.asText();
    }
}
