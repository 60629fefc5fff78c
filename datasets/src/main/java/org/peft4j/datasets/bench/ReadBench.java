package org.peft4j.datasets.bench;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.peft4j.datasets.Datasets;
import org.peft4j.datasets.batch.Batcher;
import org.peft4j.datasets.batch.ExampleTokenizer;
import org.peft4j.datasets.batch.PaddedBatch;
import org.peft4j.datasets.batch.TokenizedExample;
import org.peft4j.datasets.prompt.PromptTemplate;
import org.peft4j.datasets.read.BadRecords;
import org.peft4j.datasets.record.InstructionRecord;
import org.peft4j.datasets.tokenize.Tokenizer;

/** Records per second from file bytes to padded token batches, split into its stages, single thread. */
public final class ReadBench {
    private ReadBench() {}

    public record Result(
            long records, long tokens, long batches, double parseSeconds, double tokenizeSeconds, double batchSeconds) {
        public double recordsPerSecond() {
            return records / (parseSeconds + tokenizeSeconds + batchSeconds);
        }
    }

    public static Result run(
            String dataset,
            Supplier<InputStream> file,
            String source,
            Tokenizer tokenizer,
            PromptTemplate template,
            int maxLength,
            int rows)
            throws IOException {
        long t0 = System.nanoTime();
        List<InstructionRecord> records = new ArrayList<>();
        try (InputStream in = file.get();
                Datasets.RecordStream s = Datasets.instructions(dataset, in, source, BadRecords.failing())) {
            s.forEachRemaining(records::add);
        }
        long t1 = System.nanoTime();
        ExampleTokenizer et = new ExampleTokenizer(tokenizer, template, maxLength);
        List<TokenizedExample> examples = new ArrayList<>(records.size());
        long tokens = 0;
        for (InstructionRecord r : records) {
            TokenizedExample e = et.causal(r);
            tokens += e.length();
            examples.add(e);
        }
        long t2 = System.nanoTime();
        List<PaddedBatch> batches = Batcher.batches(examples, rows, 8, tokenizer.padId(), 1, true);
        long t3 = System.nanoTime();
        return new Result(records.size(), tokens, batches.size(), (t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9);
    }
}
