package org.peft4j.job.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.peft4j.adapters.model.llama.TinyLlama;
import org.peft4j.job.eval.Perplexity;
import org.peft4j.job.fs.Locations;
import org.peft4j.job.model.LoadedModel;
import org.peft4j.job.model.ModelDtype;
import org.peft4j.job.model.ModelLoader;

/** {@code perplexity}: mean next-token NLL of a text file, with or without an adapter. */
final class PerplexityCommand implements Command {

    @Override
    public String name() {
        return "perplexity";
    }

    @Override
    public String summary() {
        return "perplexity of a text file under a model (and optionally an adapter)";
    }

    @Override
    public String usage() {
        return """
                usage: deploy/peft4j perplexity --text-file FILE [--model DIR] [--adapter DIR] [--block-size N]
                                                [--batch-rows 4] [--dtype auto|float32|bfloat16] [--json]
                  --model       a Hugging Face LLaMA directory (local, file://, hdfs://, s3a://) or %s (default)
                  --adapter     an adapter directory saved by this project (adapter_config.json + safetensors)
                  --text-file   UTF-8 text; tokenized whole with the model's tokenizer (its post-processor decides
                                BOS), concatenated and cut into consecutive blocks, the last partial block dropped
                  --block-size  tokens per block, default min(1024, max_position_embeddings)
                  --dtype       how the model is stored and multiplied (model.dtype; bf16, fp32 accepted): auto
                                (default) takes the checkpoint's, bf16 only on a CPU with bf16 instructions
                  --json        one object: tokens (predicted tokens counted), nll, perplexity""".formatted(TinyLlama.NAME);
    }

    @Override
    public int run(List<String> argv, PrintStream out) throws Exception {
        Args a = Args.parse(argv, Set.of("json"));
        String modelLocation = a.get("model", TinyLlama.NAME);
        String adapter = a.get("adapter", null);
        String textFile = a.required("text_file");
        String blockArg = a.get("block_size", null);
        int rows = a.integer("batch_rows", 4);
        boolean json = a.flag("json");
        ModelDtype dtype = ModelDtype.parse(a.get("dtype", "auto"), "--dtype");
        a.finish();
        String text = new String(Locations.read(textFile), StandardCharsets.UTF_8);
        LoadedModel m = ModelLoader.load(modelLocation, dtype);
        System.err.println(m.dtype().line());
        if (adapter != null) {
            ModelLoader.attachAdapter(m, adapter);
        }
        int block =
                blockArg == null ? Math.min(1024, m.model().config().maxPositionEmbeddings()) : parseBlock(blockArg);
        int[] ids = m.tokenizer().encode(text);
        Perplexity.Result r = Perplexity.of(m.model(), ids, block, rows);
        if (json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("tokens", r.tokens());
            o.put("nll", r.nll());
            o.put("perplexity", r.perplexity());
            out.println(new ObjectMapper().writeValueAsString(o));
        } else {
            out.printf(
                    "model %s%s: %d predicted tokens in blocks of %d, nll %.4f, perplexity %.3f%n",
                    modelLocation,
                    adapter == null ? "" : " + adapter " + adapter,
                    r.tokens(),
                    block,
                    r.nll(),
                    r.perplexity());
        }
        return ExitCode.OK;
    }

    private static int parseBlock(String v) {
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new Args.UsageException("option --block-size: expected an integer, found '" + v + "'");
        }
    }
}
