package org.peft4j.job.eval;

import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.peft4j.datasets.Datasets;
import org.peft4j.datasets.glue.GlueReader;
import org.peft4j.datasets.glue.GlueRecord;
import org.peft4j.datasets.glue.GlueTask;
import org.peft4j.datasets.read.BadRecords;
import org.peft4j.datasets.record.InstructionRecord;
import org.peft4j.datasets.shard.ShardKey;
import org.peft4j.job.config.JobConfig;
import org.peft4j.job.fs.Locations;

/**
 * The records an evaluation scores: read from {@code data.eval.path}, or held out of the training data by
 * {@code data.eval.split}. A record is held out by a stable key of its content and the run seed (salted, so it is
 * independent of sharding): with a fraction f, when the key falls in the lowest f of the key space; with a number n,
 * when it is among the n smallest keys. The same records on every re-run, on Spark and in a single process, and never
 * trained on.
 *
 * @param instructions for causal LM (empty for a sequence head)
 * @param glue for a sequence head (empty for causal LM)
 */
public record EvalRecords(List<InstructionRecord> instructions, List<GlueRecord> glue) implements Serializable {
    private static final long SPLIT_SALT = 0x5EED_5E7A_11D0L;
    /** No records (no split). */
    public static final EvalRecords NONE = new EvalRecords(List.of(), List.of());

    public int size() {
        return instructions.size() + glue.size();
    }

    /** The split's key of an instruction record. */
    public static long key(InstructionRecord r, long seed) {
        return ShardKey.of(r, seed ^ SPLIT_SALT);
    }

    /** The split's key of a GLUE record. */
    public static long key(GlueRecord r, long seed) {
        return ShardKey.of(seed ^ SPLIT_SALT, r.text(), r.pair(), r.label());
    }

    /** Whether a key is held out by a fraction: its top 53 bits, as a number in [0, 1), below the fraction. */
    public static boolean inFraction(long key, double fraction) {
        return (key >>> 11) * 0x1.0p-53 < fraction;
    }

    /** The records of {@code data.eval.path} (up to {@code max_records}). */
    public static EvalRecords fromFile(JobConfig c) throws IOException {
        String path = c.data().evalPath();
        int max = c.data().evalMaxRecords();
        List<InstructionRecord> ins = new ArrayList<>();
        List<GlueRecord> glue = new ArrayList<>();
        try (InputStream in = Locations.open(path)) {
            if (c.data().sequenceTask()) {
                try (GlueReader r =
                        new GlueReader(GlueTask.ofDataset(c.data().evalDataset()), in, path, BadRecords.failing())) {
                    while (r.hasNext() && glue.size() < max) {
                        glue.add(r.next());
                    }
                }
            } else {
                try (Datasets.RecordStream s =
                        Datasets.instructions(c.data().evalDataset(), in, path, BadRecords.failing())) {
                    while (s.hasNext() && ins.size() < max) {
                        ins.add(s.next());
                    }
                }
            }
        }
        return new EvalRecords(ins, glue);
    }

    /**
     * The held-out records of {@code data.eval.split} without Spark (the {@code eval} command): reads every training
     * source, as the job does, and keeps the same records, ordered by key, up to {@code max_records}.
     */
    public static EvalRecords heldOutLocally(JobConfig c) throws IOException {
        long seed = c.run().seed();
        List<InstructionRecord> ins = new ArrayList<>();
        List<GlueRecord> glue = new ArrayList<>();
        for (JobConfig.Source s : c.data().train()) {
            for (String file : Locations.files(s.path())) {
                try (InputStream in = Locations.open(file)) {
                    if (c.data().sequenceTask()) {
                        try (GlueReader r =
                                new GlueReader(GlueTask.ofDataset(s.dataset()), in, file, BadRecords.failing())) {
                            r.forEachRemaining(glue::add);
                        }
                    } else {
                        try (Datasets.RecordStream r =
                                Datasets.instructions(s.dataset(), in, file, BadRecords.failing())) {
                            r.forEachRemaining(ins::add);
                        }
                    }
                }
            }
        }
        return new EvalRecords(select(ins, r -> key(r, seed), c), select(glue, r -> key(r, seed), c));
    }

    private static <T> List<T> select(List<T> all, java.util.function.ToLongFunction<T> key, JobConfig c) {
        double split = c.data().evalSplit();
        List<T> sorted = new ArrayList<>(all);
        sorted.sort(Comparator.comparingLong(key));
        List<T> held = split < 1
                ? sorted.stream()
                        .filter(r -> inFraction(key.applyAsLong(r), split))
                        .toList()
                : sorted.subList(0, (int) Math.min(sorted.size(), (long) split));
        return List.copyOf(held.subList(0, Math.min(held.size(), c.data().evalMaxRecords())));
    }
}
