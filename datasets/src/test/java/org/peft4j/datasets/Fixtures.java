package org.peft4j.datasets;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.peft4j.datasets.read.BadRecords;
import org.peft4j.datasets.record.InstructionRecord;

/** The fixture files written by {@code datasets/src/test/python/make_fixtures.py}. */
public final class Fixtures {
    private Fixtures() {}

    public static Path path(String name) {
        try {
            return Path.of(Fixtures.class.getResource("/fixtures/" + name).toURI());
        } catch (Exception e) {
            throw new IllegalStateException("fixture " + name, e);
        }
    }

    public static List<InstructionRecord> read(String dataset, String file, BadRecords bad) {
        try (InputStream in = Files.newInputStream(path(file));
                Datasets.RecordStream s = Datasets.instructions(dataset, in, file, bad)) {
            List<InstructionRecord> out = new ArrayList<>();
            s.forEachRemaining(out::add);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static List<InstructionRecord> read(String dataset, String file) {
        return read(dataset, file, BadRecords.failing());
    }

    public static InputStream stream(String text) {
        return new java.io.ByteArrayInputStream(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
}
