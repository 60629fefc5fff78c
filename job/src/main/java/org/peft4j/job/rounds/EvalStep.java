package org.peft4j.job.rounds;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.peft4j.job.config.JobConfig;
import org.peft4j.job.eval.EvalRecords;
import org.peft4j.job.eval.Evaluator;
import org.peft4j.job.state.StateSlice;
import org.peft4j.job.worker.RunSpec;
import org.peft4j.job.worker.Worker;
import org.peft4j.job.worker.WorkerCache;
import scala.Tuple2;

/**
 * Evaluation on the executors: the evaluation's chunks ({@link Evaluator#chunks}) spread over the executors in
 * contiguous ranges; each task brings its worker to the round's state ({@link WorkerUpdate}) and scores its chunks
 * (batched, generation with the KV cache); the driver adds the chunks up in order, which gives exactly the numbers of
 * {@link Evaluator#evaluate(Worker, JobConfig, EvalRecords)} in one process.
 */
public final class EvalStep implements FlatMapFunction<Iterator<Integer>, Tuple2<Integer, Evaluator.Chunk>> {
    private final Broadcast<RunSpec> spec;
    private final Broadcast<EvalRecords> records;
    private final WorkerUpdate update;

    EvalStep(Broadcast<RunSpec> spec, Broadcast<EvalRecords> records, WorkerUpdate update) {
        this.spec = spec;
        this.records = records;
        this.update = update;
    }

    @Override
    public Iterator<Tuple2<Integer, Evaluator.Chunk>> call(Iterator<Integer> chunks) throws Exception {
        Worker w = WorkerCache.borrow(spec.value());
        try {
            update.apply(w);
            List<Tuple2<Integer, Evaluator.Chunk>> out = new ArrayList<>();
            while (chunks.hasNext()) {
                int k = chunks.next();
                out.add(new Tuple2<>(k, Evaluator.chunk(w, spec.value().config(), records.value(), k)));
            }
            return out.iterator();
        } finally {
            WorkerCache.release(w);
        }
    }

    /**
     * Evaluates {@code records} on the executors with the adapters {@code w} holds (every tensor, frozen ones too,
     * travels: the {@code eval} command's adapter may come from anywhere).
     */
    public static Map<String, Object> evaluate(JavaSparkContext sc, Worker w, EvalRecords records) {
        StateSlice all = StateSlice.of(
                w.adapters(), w.optimizer(), new int[w.adapters().params().size()], false);
        Broadcast<RoundInput> in = sc.broadcast(new RoundInput(0, 0, 0, all, new double[0]));
        Broadcast<EvalRecords> rb = sc.broadcast(records);
        try {
            return evaluate(
                    sc,
                    sc.broadcast(w.spec()),
                    rb,
                    new WorkerUpdate(in, List.of(), new int[0]),
                    w.spec().config().spark().executors());
        } finally {
            in.destroy();
            rb.destroy();
        }
    }

    /** Evaluates {@code records} on {@code executors} partitions with the state {@code update} brings. */
    static Map<String, Object> evaluate(
            JavaSparkContext sc,
            Broadcast<RunSpec> spec,
            Broadcast<EvalRecords> records,
            WorkerUpdate update,
            int executors) {
        JobConfig c = spec.value().config();
        int n = Evaluator.chunks(records.value());
        List<Integer> chunks = IntStream.range(0, n).boxed().toList();
        List<Evaluator.Chunk> scored =
                RoundLoop.inPartitionOrder(sc.parallelize(chunks, Math.max(1, Math.min(executors, n)))
                        .mapPartitions(new EvalStep(spec, records, update))
                        .collect());
        return Evaluator.metrics(c, records.value(), scored);
    }
}
