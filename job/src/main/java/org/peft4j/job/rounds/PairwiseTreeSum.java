package org.peft4j.job.rounds;

import java.util.List;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import scala.Tuple2;

/**
 * Sums partition results in a fixed pairwise tree: partition p joins p / 2 at the next level, two operands per
 * addition, so the total has the same bits whatever order the tasks finish in (a plain reduce adds in arrival order).
 */
final class PairwiseTreeSum {
    private PairwiseTreeSum() {}

    static PartitionResult of(JavaRDD<Tuple2<Integer, PartitionResult>> results, int partitions) {
        JavaPairRDD<Integer, PartitionResult> level = results.mapToPair(t -> t);
        int n = partitions;
        while (n > 1) {
            n = (n + 1) / 2;
            level = level.mapToPair(t -> new Tuple2<>(t._1() / 2, t._2())).reduceByKey(PartitionResult::plus, n);
        }
        List<PartitionResult> out = level.values().collect();
        if (out.size() != 1) {
            throw new IllegalStateException("expected one aggregate, found " + out.size());
        }
        return out.get(0);
    }
}
