package org.peft4j.job.cli;

import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.io.AdapterCheckpoint;
import org.peft4j.adapters.model.llama.TinyLlama;
import org.peft4j.job.checkpoint.CheckpointFiles;
import org.peft4j.job.fs.Locations;
import org.peft4j.job.model.LoadedModel;
import org.peft4j.job.model.ModelLoader;

/** {@code export}: any method's adapter as an exact PEFT LoRA, for serving with PEFT, vLLM or TGI. */
final class ExportCommand implements Command {

    @Override
    public String name() {
        return "export";
    }

    @Override
    public String summary() {
        return "write any adapter (LoRA, LaMDA, LaMDA++, Neat) as an exact PEFT LoRA directory for serving";
    }

    @Override
    public String usage() {
        return """
                usage: deploy/peft4j export --adapter DIR --out DIR [--model DIR] [--overwrite]
                  Every method's update is a product of rank r, so it is written with no approximation as a PEFT LoRA
                  (adapter_config.json + adapter_model.safetensors): LaMDA's s A S B (minus its SVD residual) as
                  A and s S B - R, Neat's s sigma(W0 T1) T2 from the base weights, LaMDA++'s per-module ranks through
                  rank_pattern. PeftModel.from_pretrained, vLLM (--lora-modules name=DIR) and TGI load the result.
                  LoRA trained with aggregation = product (a dense residual) is refused: it has no exact LoRA form.
                  --model  the base model (default: the adapter's base_model_name_or_path, else %s)""".formatted(TinyLlama.NAME);
    }

    @Override
    public int run(List<String> argv, PrintStream out) throws Exception {
        Args a = Args.parse(argv, Set.of("overwrite"));
        String adapter = a.required("adapter");
        String dir = a.required("out");
        String model = a.get("model", null);
        boolean overwrite = a.flag("overwrite");
        a.finish();
        if (!overwrite && Locations.exists(dir, AdapterCheckpoint.CONFIG)) {
            throw new IllegalArgumentException(
                    dir + " already holds " + AdapterCheckpoint.CONFIG + "; pass --overwrite to replace it");
        }
        Map<String, byte[]> files = ModelLoader.readAdapterFiles(adapter);
        String base = model != null ? model : ModelLoader.recordedBase(files);
        LoadedModel m = ModelLoader.load(base);
        AdapterSet set = AdapterCheckpoint.load(m.model().linears(), files, adapter);
        CheckpointFiles.writeFiles(dir, AdapterCheckpoint.exportPeftLora(set, base));
        out.println("wrote " + dir + ": " + set.spec().method().name() + " on "
                + set.targets().size() + " modules as a PEFT LoRA (ranks "
                + new java.util.TreeSet<>(set.ranks().values()) + ")");
        return ExitCode.OK;
    }
}
