package org.peft4j.job.cli;

import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.io.Safetensors;
import org.peft4j.adapters.model.llama.LlamaWeights;
import org.peft4j.adapters.model.llama.TinyLlama;
import org.peft4j.job.fs.Locations;
import org.peft4j.job.model.LoadedModel;
import org.peft4j.job.model.ModelLoader;

/** {@code merge}: fold an adapter into the base weights and write a full Hugging Face model directory. */
final class MergeCommand implements Command {

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
                usage: deploy/peft4j merge --out DIR [--model DIR] [--adapter DIR] [--overwrite]
                  Writes config.json, model.safetensors (F32, HF names and layouts) and tokenizer.json to DIR on any
                  file system. Without --adapter the base model is written as it is: e.g. to materialise %s as
                  an ordinary directory. An existing model in DIR is kept unless --overwrite is given.""".formatted(TinyLlama.NAME);
    }

    @Override
    public int run(List<String> argv, PrintStream out) throws Exception {
        Args a = Args.parse(argv, Set.of("overwrite"));
        String modelLocation = a.get("model", TinyLlama.NAME);
        String adapter = a.get("adapter", null);
        String dir = a.required("out");
        boolean overwrite = a.flag("overwrite");
        a.finish();
        if (!overwrite && Locations.exists(dir, LlamaWeights.SINGLE)) {
            throw new IllegalArgumentException(
                    dir + " already holds " + LlamaWeights.SINGLE + "; pass --overwrite to replace it");
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
        Locations.write(dir, LlamaWeights.SINGLE, o -> Safetensors.write(w.toHf(), Map.of("format", "pt"), o));
        Locations.write(dir, LlamaWeights.CONFIG, o -> o.write(w.config().toHfJson()));
        if (m.tokenizerJson() != null) {
            Locations.write(dir, ModelLoader.TOKENIZER, o -> o.write(m.tokenizerJson()));
        }
        out.println("wrote " + dir + (adapter == null ? "" : " (merged " + adapter + ")"));
        return ExitCode.OK;
    }
}
