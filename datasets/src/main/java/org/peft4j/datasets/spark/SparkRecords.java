package org.peft4j.datasets.spark;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.NoSuchElementException;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.input.PortableDataStream;
import org.apache.spark.util.LongAccumulator;
import org.peft4j.datasets.Datasets;
import org.peft4j.datasets.glue.GlueReader;
import org.peft4j.datasets.glue.GlueRecord;
import org.peft4j.datasets.glue.GlueTask;
import org.peft4j.datasets.read.BadRecords;
import org.peft4j.datasets.record.InstructionRecord;
import org.peft4j.datasets.shard.ShardKey;
import scala.Tuple2;

/**
 * Datasets as Spark RDDs, read inside executors: each file is opened by the task that owns it and streamed record
 * by record (a JSON array is not splittable; one task per file), so nothing passes through the driver. Counts of
 * read and skipped records come back through accumulators.
 */
public final class SparkRecords {
    private SparkRecords() {}

    /** The records and the counters that are filled once an action has run. */
    public record Read(JavaRDD<InstructionRecord> records, LongAccumulator read, LongAccumulator skipped) {}

    /**
     * @param path a file, directory or glob on any Hadoop file system
     * @param policy fail (the task fails with file, record and field; Spark reports it) or skip
     */
    public static Read instructions(JavaSparkContext sc, String dataset, String path, BadRecords.Policy policy) {
        Datasets.names().stream()
                .filter(dataset::equals)
                .findAny()
                .orElseThrow(() -> new IllegalArgumentException(
                        "unknown dataset '" + dataset + "' (one of " + Datasets.names() + ")"));
        LongAccumulator read = sc.sc().longAccumulator("records read: " + path);
        LongAccumulator skipped = sc.sc().longAccumulator("records skipped: " + path);
        JavaRDD<InstructionRecord> rdd = sc.binaryFiles(path).flatMap(file -> {
            String source = file._1();
            PortableDataStream data = file._2();
            InputStream in = data.open();
            BadRecords bad = new BadRecords(policy);
            Datasets.RecordStream records = Datasets.instructions(dataset, in, source, bad);
            return new CountingIterator<>(records, records, bad, read, skipped);
        });
        return new Read(rdd, read, skipped);
    }

    /**
     * Puts every record into partition {@code ShardKey.partition(key(record, seed), n)}: the same seed and n give
     * the same shards on every run, whatever the input's file layout or order.
     */
    public static JavaRDD<InstructionRecord> shard(JavaRDD<InstructionRecord> records, int n, long seed) {
        return shard(records, n, r -> ShardKey.of(r, seed));
    }

    /** Shards any records by a stable key function. */
    public static <T> JavaRDD<T> shard(
            JavaRDD<T> records, int n, org.apache.spark.api.java.function.Function<T, Long> key) {
        JavaPairRDD<Integer, T> keyed = records.mapToPair(r -> new Tuple2<>(ShardKey.partition(key.call(r), n), r));
        return keyed.partitionBy(new ShardPartitioner(n)).values();
    }

    /** Labelled GLUE records (for a sequence head), read inside executors like {@link #instructions}. */
    public static JavaRDD<GlueRecord> glue(
            JavaSparkContext sc,
            GlueTask task,
            String path,
            BadRecords.Policy policy,
            LongAccumulator read,
            LongAccumulator skipped) {
        return sc.binaryFiles(path).flatMap(file -> {
            BadRecords bad = new BadRecords(policy);
            GlueReader r = new GlueReader(task, file._2().open(), file._1(), bad);
            return new CountingIterator<>(r, r, bad, read, skipped);
        });
    }

    /** Partitions by the precomputed shard number carried as the key. */
    static final class ShardPartitioner extends Partitioner {
        private final int n;

        ShardPartitioner(int n) {
            this.n = n;
        }

        @Override
        public int numPartitions() {
            return n;
        }

        @Override
        public int getPartition(Object key) {
            return (Integer) key;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof ShardPartitioner p && p.n == n;
        }

        @Override
        public int hashCode() {
            return n;
        }
    }

    /** Streams a file's records, closing it at the end and adding its counts to the accumulators. */
    private static final class CountingIterator<T> implements Iterator<T> {
        private final Iterator<T> records;
        private final AutoCloseable file;
        private final BadRecords bad;
        private final LongAccumulator read;
        private final LongAccumulator skipped;
        private boolean closed;

        CountingIterator(
                Iterator<T> records,
                AutoCloseable file,
                BadRecords bad,
                LongAccumulator read,
                LongAccumulator skipped) {
            this.records = records;
            this.file = file;
            this.bad = bad;
            this.read = read;
            this.skipped = skipped;
        }

        @Override
        public boolean hasNext() {
            if (closed) {
                return false;
            }
            if (records.hasNext()) {
                return true;
            }
            try {
                file.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            closed = true;
            read.add(bad.read());
            skipped.add(bad.skipped());
            return false;
        }

        @Override
        public T next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            return records.next();
        }
    }
}
