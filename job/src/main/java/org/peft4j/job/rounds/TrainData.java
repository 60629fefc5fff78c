package org.peft4j.job.rounds;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.LongAccumulator;
import org.peft4j.datasets.batch.ExampleTokenizer;
import org.peft4j.datasets.batch.TokenizedExample;
import org.peft4j.datasets.glue.GlueRecord;
import org.peft4j.datasets.glue.GlueTask;
import org.peft4j.datasets.prompt.PromptTemplate;
import org.peft4j.datasets.read.BadRecords;
import org.peft4j.datasets.record.InstructionRecord;
import org.peft4j.datasets.shard.Mixture;
import org.peft4j.datasets.shard.ShardKey;
import org.peft4j.datasets.spark.SparkRecords;
import org.peft4j.job.config.JobConfig;
import org.peft4j.job.eval.EvalRecords;
import org.peft4j.job.worker.RunSpec;
import org.peft4j.job.worker.Worker;
import org.peft4j.job.worker.WorkerCache;

/**
 * The training shards, built and kept on the executors: sources are read inside tasks, mixed by weight, sharded by
 * stable key into one partition per local trainer, tokenized there with the model's tokenizer, sorted by content
 * (so a shard's order does not depend on shuffle arrival) and persisted for all rounds. Only counts reach the
 * driver.
 */
public final class TrainData {
    private TrainData() {}

    /** @param heldOut the records {@code data.eval.split} held out for evaluation (empty without a split) */
    public record Prepared(
            JavaRDD<TokenizedExample> shards,
            long examples,
            long truncated,
            long read,
            long skipped,
            EvalRecords heldOut) {
        /** The line the driver prints once the shards are ready. */
        public String summary(JobConfig c) {
            return String.format(
                    "peft4j: %,d training examples in %d shards (%,d records read, %,d skipped, %,d truncated to %d"
                            + " tokens)",
                    examples,
                    c.spark().executors(),
                    read,
                    skipped,
                    truncated,
                    c.data().maxLength());
        }
    }

    public static Prepared prepare(JavaSparkContext sc, Broadcast<RunSpec> spec) {
        JobConfig c = spec.value().config();
        BadRecords.Policy policy = BadRecords.parsePolicy(c.data().onBadRecord(), "peft4j.data.on_bad_record");
        LongAccumulator read = sc.sc().longAccumulator("records read");
        LongAccumulator skipped = sc.sc().longAccumulator("records skipped");
        LongAccumulator truncated = sc.sc().longAccumulator("records truncated");
        LongAccumulator empty = sc.sc().longAccumulator("records without response tokens");
        long seed = c.run().seed();
        int n = c.spark().executors();
        JavaRDD<TokenizedExample> tokenized;
        EvalRecords heldOut;
        List<LongAccumulator[]> readers = new ArrayList<>();
        if (c.data().sequenceTask()) {
            List<JavaRDD<GlueRecord>> parts = new ArrayList<>();
            for (JobConfig.Source s : c.data().train()) {
                GlueTask task = GlueTask.ofDataset(s.dataset());
                parts.add(SparkRecords.glue(sc, task, s.path(), policy, read, skipped));
            }
            Split<GlueRecord> split = split(parts, EvalRecords::key, c);
            parts = split.train();
            heldOut = new EvalRecords(List.of(), split.heldOut());
            JavaRDD<GlueRecord> all = mix(sc, parts, c.data().train(), seed, TrainData::glueKey);
            tokenized = tokenize(
                    SparkRecords.shard(all, n, r -> glueKey(r, seed)),
                    spec,
                    ExampleTokenizer::sequence,
                    truncated,
                    empty);
        } else {
            List<JavaRDD<InstructionRecord>> parts = new ArrayList<>();
            for (JobConfig.Source s : c.data().train()) {
                SparkRecords.Read r = SparkRecords.instructions(sc, s.dataset(), s.path(), policy);
                parts.add(r.records());
                readers.add(new LongAccumulator[] {r.read(), r.skipped()});
            }
            Split<InstructionRecord> split = split(parts, EvalRecords::key, c);
            parts = split.train();
            heldOut = new EvalRecords(split.heldOut(), List.of());
            JavaRDD<InstructionRecord> all = mix(sc, parts, c.data().train(), seed, ShardKey::of);
            tokenized = tokenize(SparkRecords.shard(all, n, seed), spec, ExampleTokenizer::causal, truncated, empty);
        }
        tokenized = tokenized.persist(StorageLevel.MEMORY_AND_DISK());
        List<Long> perShard = tokenized
                .mapPartitions(it -> {
                    long k = 0;
                    while (it.hasNext()) {
                        it.next();
                        k++;
                    }
                    return List.of(k).iterator();
                })
                .collect();
        for (int p = 0; p < perShard.size(); p++) {
            if (perShard.get(p) == 0) {
                throw new IllegalArgumentException("shard " + p + " of " + n + " is empty: peft4j.spark.executors is"
                        + " larger than the data allows");
            }
        }
        long examples = perShard.stream().mapToLong(Long::longValue).sum();
        if (empty.value() == examples) {
            throw new IllegalArgumentException(
                    "peft4j.data.max_length = " + c.data().maxLength() + " leaves no"
                            + " response token in any record (every prompt is at least that long): raise it");
        }
        long r = read.value();
        long s = skipped.value();
        for (LongAccumulator[] a : readers) {
            r += a[0].value();
            s += a[1].value();
        }
        return new Prepared(tokenized, examples, truncated.value(), r, s, heldOut);
    }

    /**
     * Tokenizes each shard inside its executor with the model's tokenizer (the worker's), in content order; counts
     * truncated records and records left without a response token.
     */
    private static <T> JavaRDD<TokenizedExample> tokenize(
            JavaRDD<T> shards,
            Broadcast<RunSpec> spec,
            Tokenize<T> tokenize,
            LongAccumulator truncated,
            LongAccumulator empty) {
        JobConfig c = spec.value().config();
        return shards.mapPartitions(it -> {
            Worker w = WorkerCache.borrow(spec.value());
            try {
                ExampleTokenizer et = tokenizer(w, c);
                List<TokenizedExample> out = new ArrayList<>();
                it.forEachRemaining(r -> out.add(tokenize.apply(et, r)));
                truncated.add(et.truncated());
                empty.add(et.withoutTargets());
                return sorted(out).iterator();
            } finally {
                WorkerCache.release(w);
            }
        });
    }

    /** One record to one example. */
    interface Tokenize<T> extends java.io.Serializable {
        TokenizedExample apply(ExampleTokenizer tokenizer, T record);
    }

    static long glueKey(GlueRecord r, long seed) {
        return ShardKey.of(seed, r.text(), r.pair(), r.label());
    }

    /** The training parts without the held-out records, and the held-out ones (by key, up to max_records). */
    record Split<T>(List<JavaRDD<T>> train, List<T> heldOut) {}

    /** {@code data.eval.split}: see {@link EvalRecords}; the held-out records never reach training. */
    private static <T> Split<T> split(List<JavaRDD<T>> parts, KeyFn<T> key, JobConfig c) {
        Double split = c.data().evalSplit();
        if (split == null) {
            return new Split<>(parts, List.of());
        }
        long seed = c.run().seed();
        JavaRDD<T> all = parts.get(0);
        for (int i = 1; i < parts.size(); i++) {
            all = all.union(parts.get(i));
        }
        long threshold;
        if (split < 1) {
            threshold = 0;
        } else {
            long n = (long) (double) split;
            List<Long> smallest = all.map(r -> key.apply(r, seed)).takeOrdered((int) Math.min(n, Integer.MAX_VALUE));
            if (smallest.size() < n) {
                throw new IllegalArgumentException("peft4j.data.eval.split: expected at most " + smallest.size()
                        + " (the training records), found " + n);
            }
            threshold = smallest.get(smallest.size() - 1);
        }
        HeldOut<T> held = new HeldOut<>(key, seed, split, threshold);
        List<JavaRDD<T>> train = new ArrayList<>();
        for (JavaRDD<T> p : parts) {
            train.add(p.filter(r -> !held.test(r)));
        }
        List<T> out = all.filter(held::test).takeOrdered(c.data().evalMaxRecords(), held);
        if (out.isEmpty()) {
            throw new IllegalArgumentException("peft4j.data.eval.split: expected a fraction that holds out at least"
                    + " one training record, found " + split + " (none held out)");
        }
        return new Split<>(train, out);
    }

    /** Whether a record is held out, and the order held-out records are taken in (by key). */
    record HeldOut<T>(KeyFn<T> key, long seed, double split, long threshold)
            implements java.io.Serializable, java.util.Comparator<T> {
        boolean test(T r) {
            long k = key.apply(r, seed);
            return split < 1 ? EvalRecords.inFraction(k, split) : k <= threshold;
        }

        @Override
        public int compare(T a, T b) {
            return Long.compare(key.apply(a, seed), key.apply(b, seed));
        }
    }

    /** Weighted mixture of the sources; one source is used as it is. */
    private static <T> JavaRDD<T> mix(
            JavaSparkContext sc, List<JavaRDD<T>> parts, List<JobConfig.Source> sources, long seed, KeyFn<T> key) {
        if (parts.size() == 1) {
            return parts.get(0);
        }
        long[] counts = new long[parts.size()];
        double[] weights = new double[parts.size()];
        long total = 0;
        for (int i = 0; i < parts.size(); i++) {
            counts[i] = parts.get(i).count();
            weights[i] = sources.get(i).weight();
            total += counts[i];
        }
        Mixture m = new Mixture(counts, weights, total);
        JavaRDD<T> out = null;
        for (int i = 0; i < parts.size(); i++) {
            int d = i;
            JavaRDD<T> copies = parts.get(i).flatMap(r -> {
                int k = m.copies(d, key.apply(r, seed));
                List<T> l = new ArrayList<>(k);
                for (int j = 0; j < k; j++) {
                    l.add(r);
                }
                return l.iterator();
            });
            out = out == null ? copies : out.union(copies);
        }
        return out;
    }

    /** A stable key of a record and the seed. */
    interface KeyFn<T> extends java.io.Serializable {
        long apply(T record, long seed);
    }

    private static ExampleTokenizer tokenizer(Worker w, JobConfig c) {
        return new ExampleTokenizer(
                w.model().tokenizer(),
                PromptTemplate.named(c.data().template()),
                c.data().maxLength(),
                c.data().trainOnInputs());
    }

    public static List<TokenizedExample> sorted(List<TokenizedExample> l) {
        l.sort(Comparator.comparingLong(TrainData::contentKey));
        return l;
    }

    /** The order examples take inside a shard: by content, independent of how records arrived. */
    public static long contentKey(TokenizedExample e) {
        StringBuilder sb = new StringBuilder();
        for (int id : e.ids()) {
            sb.append(id).append(',');
        }
        return ShardKey.of(0, sb.toString(), Double.toString(e.target()));
    }
}
