package org.peft4j.datasets.read;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * Streams the objects of a JSON file that is either one array of objects (LLM-Adapters, MetaMathQA) or JSON Lines,
 * told apart by the first non-blank character. Nothing is loaded whole: a 5 GB array streams in constant memory.
 * UTF-8, with or without a byte-order mark, any line ending. Every item carries its record number and line for
 * messages.
 */
public final class JsonRecords extends LookAhead<JsonRecords.Item> implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One object: 1-based record number and the line it starts on. */
    public record Item(JsonNode node, long record, long line, String source) {
        /** "FILE: record N (line L)". */
        public String where() {
            return source + ": record " + record + " (line " + line + ")";
        }
    }

    private final String source;
    private final JsonParser array;
    private final BufferedReader lines;
    private long record;
    private long lineNumber;

    private JsonRecords(String source, JsonParser array, BufferedReader lines) {
        this.source = source;
        this.array = array;
        this.lines = lines;
    }

    public static JsonRecords open(InputStream raw, String source) throws IOException {
        BufferedInputStream in = new BufferedInputStream(raw, 1 << 16);
        in.mark(16);
        int b = in.read();
        if (b == 0xEF) { // UTF-8 byte-order mark
            in.read();
            in.read();
            in.mark(16);
            b = in.read();
        }
        while (b == ' ' || b == '\t' || b == '\r' || b == '\n') {
            in.mark(16);
            b = in.read();
        }
        in.reset();
        if (b == '[') {
            JsonParser p = new JsonFactory(JSON).createParser(new InputStreamReader(in, StandardCharsets.UTF_8));
            p.nextToken();
            return new JsonRecords(source, p, null);
        }
        if (b == '{' || b == -1) {
            return new JsonRecords(
                    source, null, new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16));
        }
        throw new IllegalArgumentException(
                source + ": neither a JSON array nor JSON Lines (starts with '" + (char) b + "')");
    }

    @Override
    protected Item computeNext() {
        try {
            return array != null ? fromArray() : fromLines();
        } catch (IOException e) {
            throw new UncheckedIOException(source + ": " + e.getMessage(), e);
        }
    }

    private Item fromArray() throws IOException {
        try {
            JsonToken t = array.nextToken();
            if (t == null || t == JsonToken.END_ARRAY) {
                return null;
            }
            long line = array.currentTokenLocation().getLineNr();
            record++;
            if (t != JsonToken.START_OBJECT) {
                throw new BadRecords.BadRecordException(source + ": record " + record + " (line " + line
                        + "): expected a JSON object, found " + t.asString());
            }
            return new Item(array.readValueAsTree(), record, line, source);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(
                    source + ": line " + e.getLocation().getLineNr() + ", column "
                            + e.getLocation().getColumnNr() + ": malformed JSON: " + e.getOriginalMessage(),
                    e);
        }
    }

    private Item fromLines() throws IOException {
        String l;
        while ((l = lines.readLine()) != null) {
            lineNumber++;
            if (l.isBlank()) {
                continue;
            }
            record++;
            try {
                JsonNode n = JSON.readTree(l);
                if (!n.isObject()) {
                    throw new BadRecords.BadRecordException(
                            source + ": record " + record + " (line " + lineNumber + "): expected a JSON object");
                }
                return new Item(n, record, lineNumber, source);
            } catch (JsonProcessingException e) {
                // A line stands alone: under on_bad_record = skip the caller may go on with the next one.
                throw new BadRecords.BadRecordException(source + ": record " + record + " (line " + lineNumber
                        + "): malformed JSON: " + e.getOriginalMessage());
            }
        }
        return null;
    }

    /** Whether a malformed record can be skipped (JSON Lines) or ends the file (inside an array). */
    public boolean canResume() {
        return lines != null;
    }

    @Override
    public void close() throws IOException {
        if (array != null) {
            array.close();
        } else {
            lines.close();
        }
    }
}
