package org.peft4j.job.model;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.io.AdapterCheckpoint;
import org.peft4j.adapters.io.ModelFiles;
import org.peft4j.adapters.model.llama.LlamaConfig;
import org.peft4j.adapters.model.llama.LlamaModel;
import org.peft4j.adapters.model.llama.LlamaWeights;
import org.peft4j.adapters.model.llama.TinyLlama;
import org.peft4j.datasets.tokenize.ByteTokenizer;
import org.peft4j.datasets.tokenize.HfTokenizer;
import org.peft4j.datasets.tokenize.Tokenizer;
import org.peft4j.job.fs.Locations;

/** Resolves {@code --model} values: {@value TinyLlama#NAME} or a Hugging Face directory on any file system. */
public final class ModelLoader {
    public static final String TOKENIZER = "tokenizer.json";
    public static final String TOKENIZER_CONFIG = "tokenizer_config.json";

    private ModelLoader() {}

    public static LoadedModel load(String location) throws IOException {
        if (location.equals(TinyLlama.NAME)) {
            return new LoadedModel(
                    location,
                    new LlamaModel(TinyLlama.weights(DataType.FLOAT)),
                    new ByteTokenizer(),
                    ByteTokenizer.tokenizerJson(),
                    null);
        }
        if (location.startsWith("builtin:")) {
            throw new IllegalArgumentException(
                    "unknown built-in model '" + location + "' (the only one is " + TinyLlama.NAME + ")");
        }
        ModelFiles files = Locations.dir(location);
        LlamaWeights w = LlamaWeights.load(files, DataType.FLOAT);
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
        return new LoadedModel(location, new LlamaModel(w), tokenizer, json, files);
    }

    /**
     * The files of an adapter directory on any file system (peft4j's or PEFT's format), by name; fails when it lacks
     * the config or the tensors.
     */
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
