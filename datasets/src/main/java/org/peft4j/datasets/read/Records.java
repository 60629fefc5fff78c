package org.peft4j.datasets.read;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.function.Function;

/** Streams typed records out of a JSON file, applying the bad-record policy. */
public final class Records<T> extends LookAhead<T> implements AutoCloseable {
    private final JsonRecords json;
    private final Function<JsonRecords.Item, T> parse;
    private final BadRecords bad;

    private Records(JsonRecords json, Function<JsonRecords.Item, T> parse, BadRecords bad) {
        this.json = json;
        this.parse = parse;
        this.bad = bad;
    }

    /** @param parse maps one JSON object to a record, throwing {@link BadRecords.BadRecordException} on a bad one */
    public static <T> Records<T> json(
            InputStream in, String source, Function<JsonRecords.Item, T> parse, BadRecords bad) {
        try {
            return new Records<>(JsonRecords.open(in, source), parse, bad);
        } catch (IOException e) {
            throw new UncheckedIOException(source + ": " + e.getMessage(), e);
        }
    }

    @Override
    protected T computeNext() {
        while (true) {
            JsonRecords.Item item;
            try {
                if (!json.hasNext()) {
                    return null;
                }
                item = json.next();
            } catch (BadRecords.BadRecordException e) {
                bad.reject(e.getMessage());
                if (!json.canResume()) {
                    throw e;
                }
                continue;
            }
            try {
                T t = parse.apply(item);
                bad.accepted();
                return t;
            } catch (BadRecords.BadRecordException e) {
                bad.reject(e.getMessage());
            }
        }
    }

    @Override
    public void close() throws IOException {
        json.close();
    }
}
