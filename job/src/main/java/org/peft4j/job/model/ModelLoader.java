package org.peft4j.job.model;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.io.AdapterCheckpoint;
import org.peft4j.adapters.io.ModelFiles;
import org.peft4j.adapters.linalg.Bf16;
import org.peft4j.adapters.model.llama.BuiltinModels;
import org.peft4j.adapters.model.llama.LlamaConfig;
import org.peft4j.adapters.model.llama.LlamaModel;
import org.peft4j.adapters.model.llama.LlamaWeights;
import org.peft4j.adapters.model.llama.TinyLlama;
import org.peft4j.datasets.tokenize.ByteTokenizer;
import org.peft4j.datasets.tokenize.HfTokenizer;
import org.peft4j.datasets.tokenize.Tokenizer;
import org.peft4j.job.fs.Locations;

/**
 * Resolves {@code --model} values: a built-in model ({@link BuiltinModels}), a Hugging Face directory on any file
 * system, or
 * {@code synthetic:<config.json>} (random weights of that shape from a fixed seed and the byte tokenizer: benchmarks
 * of the job at a real model's size without its weights).
 */
public final class ModelLoader {
    public static final String SYNTHETIC = "synthetic:";
    /** The seed of a synthetic model's weights: every executor builds the same model. */
    public static final long SYNTHETIC_SEED = 20261204L;

    public static final String TOKENIZER = "tokenizer.json";
    public static final String TOKENIZER_CONFIG = "tokenizer_config.json";

    private ModelLoader() {}

    /** A model in float32 (what merge and export compute in). */
    public static LoadedModel load(String location) throws IOException {
        return load(location, ModelDtype.FLOAT32);
    }

    /** A model stored as {@code dtype} resolves for it (see {@link ModelDtype#resolve}). */
    public static LoadedModel load(String location, ModelDtype dtype) throws IOException {
        if (location.equals(TinyLlama.NAME)) {
            ModelDtype.Resolved r = dtype.resolve("float32", Bf16.fastOnThisCpu());
            LlamaWeights w = TinyLlama.weights(DataType.FLOAT);
            return new LoadedModel(
                    location,
                    new LlamaModel(r.type() == DataType.BFLOAT16 ? w.toBf16() : w),
                    new ByteTokenizer(),
                    ByteTokenizer.tokenizerJson(),
                    null,
                    r);
        }
        if (location.startsWith(SYNTHETIC)) {
            return synthetic(location, dtype);
        }
        ModelFiles files = files(location);
        ModelDtype.Resolved r = dtype.resolve(checkpointDtype(files), Bf16.fastOnThisCpu());
        LlamaWeights w = LlamaWeights.load(files, r.type());
        LlamaConfig c = w.config();
        Tokenizer tokenizer = null;
        byte[] json = null;
        if (files.exists(TOKENIZER)) {
            json = files.readAll(TOKENIZER);
            tokenizer = files.exists(TOKENIZER_CONFIG)
                    ? HfTokenizer.load(
                            json,
                            files.describe(TOKENIZER),
                            files.readAll(TOKENIZER_CONFIG),
                            files.describe(TOKENIZER_CONFIG),
                            c.bosTokenId(),
                            c.eosTokenId(),
                            c.padTokenId())
                    : HfTokenizer.load(
                            json,
                            files.describe(TOKENIZER),
                            c.bosTokenId() == null ? -1 : c.bosTokenId(),
                            c.eosTokenId(),
                            c.padTokenId() == null ? 0 : c.padTokenId());
        }
        return new LoadedModel(location, new LlamaModel(w), tokenizer, json, files, r);
    }

    /** A model's config and resolved dtype, read without its weights (what the Spark driver needs). */
    public record Shape(LlamaConfig config, ModelDtype.Resolved dtype) {}

    /** The config and dtype {@link #load(String, ModelDtype)} would give, reading config.json only. */
    public static Shape shape(String location, ModelDtype dtype) throws IOException {
        if (location.equals(TinyLlama.NAME)) {
            return new Shape(TinyLlama.config(), dtype.resolve("float32", Bf16.fastOnThisCpu()));
        }
        if (location.startsWith(SYNTHETIC)) {
            String file = location.substring(SYNTHETIC.length());
            byte[] json = Locations.read(file);
            LlamaConfig c = LlamaConfig.parse(json, file);
            if (c.vocabSize() < ByteTokenizer.VOCAB) {
                throw new IllegalArgumentException(
                        file + ": vocab_size " + c.vocabSize() + " is below the byte tokenizer's " + ByteTokenizer.VOCAB
                                + " ids, which a synthetic model uses");
            }
            return new Shape(c, dtype.resolve(dtypeOf(json), Bf16.fastOnThisCpu()));
        }
        ModelFiles files = files(location);
        if (!files.exists(LlamaWeights.CONFIG)) {
            throw new IllegalArgumentException(files.describe(LlamaWeights.CONFIG) + ": not found (a model directory"
                    + " holds config.json and its safetensors)");
        }
        byte[] json = files.readAll(LlamaWeights.CONFIG);
        return new Shape(
                LlamaConfig.parse(json, files.describe(LlamaWeights.CONFIG)),
                dtype.resolve(dtypeOf(json), Bf16.fastOnThisCpu()));
    }

    /** A model directory: a built-in model's packaged files or a directory on any file system. */
    private static ModelFiles files(String location) throws IOException {
        return location.startsWith(BuiltinModels.PREFIX) ? BuiltinModels.files(location) : Locations.dir(location);
    }

    private static String dtypeOf(byte[] configJson) throws IOException {
        var node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(configJson);
        var d = node.hasNonNull("dtype") ? node.get("dtype") : node.get("torch_dtype");
        return d == null || !d.isTextual() ? null : d.asText();
    }

    private static LoadedModel synthetic(String location, ModelDtype dtype) throws IOException {
        Shape s = shape(location, dtype);
        return new LoadedModel(
                location,
                new LlamaModel(LlamaWeights.random(
                        s.config(), SYNTHETIC_SEED, s.dtype().type())),
                new ByteTokenizer(),
                ByteTokenizer.tokenizerJson(),
                null,
                s.dtype());
    }

    /** config.json's {@code dtype} (transformers 5) or {@code torch_dtype} (4.x), or null. */
    static String checkpointDtype(ModelFiles files) throws IOException {
        if (!files.exists(LlamaWeights.CONFIG)) {
            return null; // LlamaWeights.load says what is missing
        }
        return dtypeOf(files.readAll(LlamaWeights.CONFIG));
    }

    /**
     * The files of an adapter directory on any file system (peft4j's or PEFT's format), by name; fails when it lacks
     * the config or the tensors.
     */
    /**
     * The base model an adapter directory records ({@code base_model_name_or_path} of peft4j's or PEFT's config),
     * {@value TinyLlama#NAME} when it records none.
     */
    public static String recordedBase(Map<String, byte[]> adapterFiles) throws IOException {
        byte[] own = adapterFiles.getOrDefault(AdapterCheckpoint.PEFT4J, adapterFiles.get(AdapterCheckpoint.CONFIG));
        String base = own == null
                ? ""
                : new com.fasterxml.jackson.databind.ObjectMapper()
                        .readTree(own)
                        .path("base_model_name_or_path")
                        .asText("");
        return base.isEmpty() ? TinyLlama.NAME : base;
    }

    public static Map<String, byte[]> readAdapterFiles(String location) throws IOException {
        ModelFiles files = Locations.dir(location);
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (String f : AdapterCheckpoint.FILES) {
            if (files.exists(f)) {
                out.put(f, files.readAll(f));
            }
        }
        for (String f : new String[] {AdapterCheckpoint.CONFIG, AdapterCheckpoint.TENSORS}) {
            if (!out.containsKey(f)) {
                throw new IllegalArgumentException(files.describe(f) + ": not found (an adapter directory holds "
                        + AdapterCheckpoint.CONFIG + " and " + AdapterCheckpoint.TENSORS + ")");
            }
        }
        return out;
    }

    /**
     * Loads an adapter directory's values into adapters built from a run's configuration; see
     * {@link AdapterCheckpoint#loadValues}.
     */
    public static void loadAdapterValues(String location, AdapterSet set) throws IOException {
        AdapterCheckpoint.loadValues(readAdapterFiles(location), set, location);
    }

    /** Puts a saved adapter (peft4j's or PEFT's format, on any file system) onto the model. */
    public static AdapterSet attachAdapter(LoadedModel m, String location) throws IOException {
        return AdapterCheckpoint.load(m.model().linears(), readAdapterFiles(location), location);
    }
}
