package org.peft4j.job.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.peft4j.datasets.Datasets;
import org.peft4j.datasets.prompt.PromptTemplate;
import org.peft4j.datasets.read.BadRecords;
import org.peft4j.datasets.record.InstructionRecord;
import org.peft4j.job.fs.Locations;

/** {@code prompts}: shows exactly what the model is trained on, one JSON object per record. */
final class PromptsCommand implements Command {

    @Override
    public String name() {
        return "prompts";
    }

    @Override
    public String summary() {
        return "print the prompt, response and answer the model sees for each record of a dataset file";
    }

    @Override
    public String usage() {
        return """
                usage: deploy/peft4j prompts --dataset NAME --file FILE [--limit N] [--template alpaca]
                                             [--on-bad-record fail|skip]
                  NAME: %s
                  One JSON object per record: prompt (the text the loss is masked on), response (the trained
                  part, without EOS), answer (the gold label or number). Templates: alpaca (default),
                  llm-adapters-verbatim. With --on-bad-record skip, skipped records are counted on stderr.""".formatted(String.join(", ", Datasets.names()));
    }

    @Override
    public int run(List<String> argv, PrintStream out) throws Exception {
        Args a = Args.parse(argv, Set.of());
        String dataset = a.required("dataset");
        String file = a.required("file");
        int limit = a.integer("limit", Integer.MAX_VALUE);
        PromptTemplate template = PromptTemplate.named(a.get("template", "alpaca"));
        BadRecords bad = new BadRecords(BadRecords.parsePolicy(a.get("on_bad_record", "fail"), "--on-bad-record"));
        a.finish();
        if (!Datasets.names().contains(dataset)) {
            throw new Args.UsageException(
                    "--dataset: unknown dataset '" + dataset + "' (one of " + Datasets.names() + ")");
        }
        ObjectMapper json = new ObjectMapper();
        int n = 0;
        try (InputStream in = Locations.open(file);
                Datasets.RecordStream s = Datasets.instructions(dataset, in, file, bad)) {
            while (n < limit && s.hasNext()) {
                InstructionRecord r = s.next();
                Map<String, String> o = new LinkedHashMap<>();
                o.put("prompt", template.prompt(r));
                o.put("response", r.output());
                o.put("answer", r.answer());
                out.println(json.writeValueAsString(o));
                n++;
            }
        }
        if (bad.skipped() > 0) {
            System.err.println("peft4j prompts: " + bad.summary());
        }
        return ExitCode.OK;
    }
}
