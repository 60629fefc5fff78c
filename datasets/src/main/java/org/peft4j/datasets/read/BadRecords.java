package org.peft4j.datasets.read;

import java.util.ArrayList;
import java.util.List;

/**
 * What to do with a record that parses as JSON (or TSV) but does not fit the schema: {@code fail} (the default)
 * stops with the file, record/line and field; {@code skip} counts it, keeps the first messages, and goes on.
 * Nothing is dropped silently: the counts are reported. Malformed JSON inside an array cannot be resynchronised
 * and always fails.
 */
public final class BadRecords {
    public enum Policy {
        FAIL,
        SKIP
    }

    private static final int KEPT_MESSAGES = 10;

    private final Policy policy;
    private long read;
    private long skipped;
    private final List<String> messages = new ArrayList<>();

    public BadRecords(Policy policy) {
        this.policy = policy;
    }

    public static BadRecords failing() {
        return new BadRecords(Policy.FAIL);
    }

    public static Policy parsePolicy(String s, String key) {
        return switch (s) {
            case "fail" -> Policy.FAIL;
            case "skip" -> Policy.SKIP;
            default -> throw new IllegalArgumentException(key + ": expected fail or skip, found '" + s + "'");
        };
    }

    public Policy policy() {
        return policy;
    }

    /** A good record was read. */
    public void accepted() {
        read++;
    }

    /** A bad record: throws under {@code fail}, else counts it. */
    public void reject(String message) {
        if (policy == Policy.FAIL) {
            throw new BadRecordException(message);
        }
        skipped++;
        if (messages.size() < KEPT_MESSAGES) {
            messages.add(message);
        }
    }

    public long read() {
        return read;
    }

    public long skipped() {
        return skipped;
    }

    /** The first few reasons records were skipped. */
    public List<String> messages() {
        return List.copyOf(messages);
    }

    public String summary() {
        return read + " records read"
                + (skipped == 0 ? "" : ", " + skipped + " skipped (first: " + messages.get(0) + ")");
    }

    /** A record that does not fit its schema, with where and why. */
    public static final class BadRecordException extends IllegalArgumentException {
        public BadRecordException(String message) {
            super(message);
        }
    }
}
