package org.peft4j.datasets;

import java.io.IOException;
import java.io.InputStream;
import java.util.Iterator;
import java.util.List;
import java.util.function.Function;
import org.peft4j.datasets.commonsense.CommonsenseReader;
import org.peft4j.datasets.glue.GlueReader;
import org.peft4j.datasets.glue.GlueTask;
import org.peft4j.datasets.math.MathReaders;
import org.peft4j.datasets.read.BadRecords;
import org.peft4j.datasets.read.JsonRecords;
import org.peft4j.datasets.read.Records;
import org.peft4j.datasets.record.InstructionRecord;

/**
 * The dataset names users write (config, {@code --dataset}) and the reader behind each: {@code commonsense}
 * (Commonsense170K and its test files), {@code metamath} (MetaMathQA), {@code gsm8k}, and {@code glue-<task>} read
 * as instruction records (the generative form).
 */
public final class Datasets {
    private Datasets() {}

    public static List<String> names() {
        List<String> out = new java.util.ArrayList<>(List.of("commonsense", "metamath", "gsm8k"));
        for (GlueTask t : GlueTask.values()) {
            out.add(t.datasetName());
        }
        return out;
    }

    /** An iterator that must be closed. */
    public interface RecordStream extends Iterator<InstructionRecord>, AutoCloseable {
        @Override
        void close() throws IOException;
    }

    public static RecordStream instructions(String dataset, InputStream in, String source, BadRecords bad) {
        if (dataset.startsWith("glue-")) {
            GlueReader r = new GlueReader(GlueTask.ofDataset(dataset), in, source, bad);
            return wrap(r, GlueReader::toInstruction, r);
        }
        Function<JsonRecords.Item, InstructionRecord> parse = switch (dataset) {
            case "commonsense" -> CommonsenseReader::parse;
            case "metamath" -> MathReaders::metaMath;
            case "gsm8k" -> MathReaders::gsm8k;
            default -> throw new IllegalArgumentException("unknown dataset '" + dataset + "' (one of " + names() + ")");
        };
        Records<InstructionRecord> r = Records.json(in, source, parse, bad);
        return wrap(r, x -> x, r);
    }

    private static <T> RecordStream wrap(Iterator<T> it, Function<T, InstructionRecord> map, AutoCloseable c) {
        return new RecordStream() {
            @Override
            public boolean hasNext() {
                return it.hasNext();
            }

            @Override
            public InstructionRecord next() {
                return map.apply(it.next());
            }

            @Override
            public void close() throws IOException {
                try {
                    c.close();
                } catch (IOException e) {
                    throw e;
                } catch (Exception e) {
                    throw new IOException(e);
                }
            }
        };
    }
}
