package org.peft4j.job.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.io.ModelFiles;
import org.peft4j.adapters.io.Safetensors;
import org.peft4j.adapters.io.SafetensorsShards;
import org.peft4j.adapters.model.llama.LlamaWeights;
import org.peft4j.adapters.model.llama.TinyLlama;
import org.peft4j.job.fs.Locations;
import org.peft4j.job.model.LoadedModel;
import org.peft4j.job.model.ModelLoader;

/**
 * {@code merge}: fold an adapter into the base weights and write a directory transformers loads as it loads the
 * original: the source's config.json with only the dtype updated, every bias, every tokenizer file, shards and an
 * index as save_pretrained writes them.
 */
final class MergeCommand implements Command {
    /** Files a model directory carries besides config and weights; copied as they are. */
    static final List<String> TOKENIZER_FILES = List.of(
            "tokenizer.json",
            "tokenizer_config.json",
            "special_tokens_map.json",
            "generation_config.json",
            "chat_template.jinja",
            "chat_template.json",
            "tokenizer.model",
            "added_tokens.json",
            "vocab.json",
            "merges.txt");

    private static final Map<String, String> DTYPES = Map.of("f32", "F32", "bf16", "BF16", "f16", "F16");
    private static final Map<String, String> TORCH = Map.of("F32", "float32", "BF16", "bfloat16", "F16", "float16");

    @Override
    public String name() {
        return "merge";
    }

    @Override
    public String summary() {
        return "write model + adapter as one Hugging Face directory (W0 + s dW), for serving";
    }

    @Override
    public String usage() {
        return """
                usage: deploy/peft4j merge --out DIR [--model DIR] [--adapter DIR] [--dtype f32|bf16|f16]
                                           [--max-shard-size 5GB] [--overwrite]
                  --model defaults to the base model the adapter records (base_model_name_or_path), else %1$s.
                  Writes DIR on any file system as transformers' save_pretrained would: config.json (the source's,
                  only its dtype updated), model.safetensors or model-0000i-of-0000n.safetensors shards with
                  model.safetensors.index.json (HF names and layouts, biases kept), and every tokenizer file of the
                  source (tokenizer.json, tokenizer_config.json, special_tokens_map.json, generation_config.json,
                  chat template, ...). --dtype defaults to the source's (f32 for %1$s, which this writes as an
                  ordinary directory without --adapter). An existing model in DIR is kept unless --overwrite.""".formatted(TinyLlama.NAME);
    }

    @Override
    public int run(List<String> argv, PrintStream out) throws Exception {
        Args a = Args.parse(argv, Set.of("overwrite"));
        String adapter = a.get("adapter", null);
        String modelLocation = a.get(
                "model",
                adapter == null ? TinyLlama.NAME : ModelLoader.recordedBase(ModelLoader.readAdapterFiles(adapter)));
        String dir = a.required("out");
        String dtypeArg = a.get("dtype", null);
        long maxShard = SafetensorsShards.parseSize(a.get("max_shard_size", "5GB"));
        boolean overwrite = a.flag("overwrite");
        a.finish();
        if (dtypeArg != null && !DTYPES.containsKey(dtypeArg)) {
            throw new Args.UsageException("option --dtype: expected f32, bf16 or f16, found '" + dtypeArg + "'");
        }
        if (!overwrite
                && (Locations.exists(dir, SafetensorsShards.SINGLE)
                        || Locations.exists(dir, SafetensorsShards.INDEX))) {
            throw new IllegalArgumentException(
                    dir + " already holds " + SafetensorsShards.SINGLE + "; pass --overwrite to replace it");
        }
        LoadedModel m = ModelLoader.load(modelLocation);
        if (adapter != null) {
            AdapterSet set = ModelLoader.attachAdapter(m, adapter);
            if (!set.modulesToSave().isEmpty()) {
                throw new IllegalArgumentException(
                        adapter + ": has a sequence head " + set.modulesToSave().keySet()
                                + ", which a causal-LM directory cannot hold; serve it with the adapter instead");
            }
            set.merge();
        }
        LlamaWeights w = m.model().weights();
        String dtype = dtypeArg != null ? DTYPES.get(dtypeArg) : sourceDtype(w);
        Map<String, Map<String, INDArray>> shards = SafetensorsShards.plan(w.toHf(), dtype, maxShard);
        for (Map.Entry<String, Map<String, INDArray>> s : shards.entrySet()) {
            Locations.write(dir, s.getKey(), o -> Safetensors.write(s.getValue(), Map.of("format", "pt"), o, dtype));
        }
        if (shards.size() > 1) {
            Locations.write(dir, SafetensorsShards.INDEX, o -> o.write(SafetensorsShards.index(shards, dtype)));
        }
        Locations.write(dir, LlamaWeights.CONFIG, o -> o.write(config(m, dtype)));
        copyTokenizer(m, dir);
        out.println("wrote " + dir + " (" + dtype + ", " + shards.size() + " shard" + (shards.size() > 1 ? "s" : "")
                + ")" + (adapter == null ? "" : " merged with " + adapter));
        return ExitCode.OK;
    }

    /** The source's config.json as it was, with only its dtype changed when the weights are written in another. */
    static byte[] config(LoadedModel m, String dtype) throws java.io.IOException {
        if (m.files() == null) {
            return m.model().config().toHfJson();
        }
        byte[] source = m.files().readAll(LlamaWeights.CONFIG);
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode c = (ObjectNode) json.readTree(source);
        String torch = TORCH.get(dtype);
        boolean changed = false;
        for (String key : List.of("dtype", "torch_dtype")) {
            if (c.has(key) && !c.get(key).asText().equals(torch)) {
                c.put(key, torch);
                changed = true;
            }
        }
        return changed ? json.writeValueAsBytes(c) : source;
    }

    /** F32, BF16 or F16 as the source's config says; F32 when it says nothing. */
    private static String sourceDtype(LlamaWeights w) {
        String d = w.config().dtype();
        return d == null
                ? "F32"
                : switch (d) {
                    case "bfloat16" -> "BF16";
                    case "float16" -> "F16";
                    default -> "F32";
                };
    }

    private static void copyTokenizer(LoadedModel m, String dir) throws java.io.IOException {
        ModelFiles files = m.files();
        if (files == null) {
            Locations.write(dir, ModelLoader.TOKENIZER, o -> o.write(m.tokenizerJson()));
            return;
        }
        for (String f : TOKENIZER_FILES) {
            if (files.exists(f)) {
                byte[] b = files.readAll(f);
                Locations.write(dir, f, o -> o.write(b));
            }
        }
    }
}
