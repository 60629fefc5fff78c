package org.peft4j.job.cli;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.peft4j.datasets.bench.ReadBench;
import org.peft4j.datasets.prompt.PromptTemplate;
import org.peft4j.datasets.tokenize.Tokenizer;
import org.peft4j.job.fs.Locations;
import org.peft4j.job.model.ModelLoader;

/** {@code bench-data}: records/s from a dataset file to padded token batches. */
final class BenchDataCommand implements Command {

    @Override
    public String name() {
        return "bench-data";
    }

    @Override
    public String summary() {
        return "records/s from a dataset file to padded token batches (parse, tokenize, batch)";
    }

    @Override
    public String usage() {
        return """
                usage: deploy/peft4j bench-data [--dataset commonsense] [--file FILE] [--records 20000]
                                                [--model builtin:tiny-llama] [--max-length 256] [--batch-rows 8]
                                                [--json]
                  Without --file, writes a synthetic Commonsense170K-shaped JSON array of --records records to a
                  temporary file first. Tokenizes with --model's tokenizer (builtin: bytes; an HF directory: its
                  tokenizer.json). Single thread.""";
    }

    @Override
    public int run(List<String> argv, PrintStream out) throws Exception {
        Args a = Args.parse(argv, Set.of("json"));
        String dataset = a.get("dataset", "commonsense");
        String file = a.get("file", null);
        int records = a.integer("records", 20_000);
        String model = a.get("model", org.peft4j.adapters.model.llama.TinyLlama.NAME);
        int maxLength = a.integer("max_length", 256);
        int rows = a.integer("batch_rows", 8);
        boolean json = a.flag("json");
        a.finish();
        Path tmp = null;
        if (file == null) {
            tmp = Files.createTempFile("peft4j-bench-data", ".json");
            writeSynthetic(tmp, records);
            file = tmp.toString();
        }
        try {
            Tokenizer tok = ModelLoader.load(model).tokenizer();
            String f = file;
            ReadBench.Result r = ReadBench.run(
                    dataset,
                    () -> {
                        try {
                            return Locations.open(f);
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    },
                    file,
                    tok,
                    PromptTemplate.ALPACA,
                    maxLength,
                    rows);
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("records", r.records());
            o.put("tokens", r.tokens());
            o.put("batches", r.batches());
            o.put("records_per_s", r.recordsPerSecond());
            o.put("parse_records_per_s", r.records() / r.parseSeconds());
            o.put("tokenize_records_per_s", r.records() / r.tokenizeSeconds());
            o.put("batch_records_per_s", r.records() / r.batchSeconds());
            if (json) {
                out.println(new ObjectMapper().writeValueAsString(o));
            } else {
                out.printf(
                        "%,d records (%,d tokens) -> %,d batches: %,.0f records/s end to end (parse %,.0f/s,"
                                + " tokenize %,.0f/s, batch %,.0f/s)%n",
                        r.records(),
                        r.tokens(),
                        r.batches(),
                        r.recordsPerSecond(),
                        r.records() / r.parseSeconds(),
                        r.records() / r.tokenizeSeconds(),
                        r.records() / r.batchSeconds());
            }
        } finally {
            if (tmp != null) {
                Files.deleteIfExists(tmp);
            }
        }
        return ExitCode.OK;
    }

    /** Commonsense170K-shaped records of realistic length (about 500 bytes). */
    static void writeSynthetic(Path file, int n) throws IOException {
        try (InputStream ignored = InputStream.nullInputStream();
                JsonGenerator g = new ObjectMapper().getFactory().createGenerator(file.toFile(), JsonEncoding.UTF8)) {
            g.writeStartArray();
            for (int i = 0; i < n; i++) {
                g.writeStartObject();
                g.writeStringField(
                        "instruction",
                        "Please choose the correct answer to the question: record " + i
                                + " asks which of these holds when a river meets the sea at dawn.\n\nAnswer1: the water"
                                + " is salty Answer2: the tide is low Answer3: fish swim upstream Answer4: birds gather"
                                + "\n\nAnswer format: answer1/answer2/answer3/answer4");
                g.writeStringField("input", "");
                g.writeStringField("output", "the correct answer is answer" + (1 + i % 4));
                g.writeStringField("answer", "answer" + (1 + i % 4));
                g.writeEndObject();
            }
            g.writeEndArray();
        }
    }
}
