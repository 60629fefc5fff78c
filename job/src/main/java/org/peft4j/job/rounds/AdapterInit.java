package org.peft4j.job.rounds;

import java.util.Iterator;
import java.util.List;
import org.apache.spark.SparkException;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.peft4j.job.worker.DriverAdapters;
import org.peft4j.job.worker.RunSpec;
import org.peft4j.job.worker.Worker;
import org.peft4j.job.worker.WorkerCache;

/**
 * The run's initial adapters, built where the weights are: one executor task builds (and keeps) its worker and sends
 * back every adapter tensor, so the driver never loads the base model. Every worker builds the same adapters from
 * the same seed, so the one asked speaks for all.
 */
final class AdapterInit implements FlatMapFunction<Iterator<Integer>, DriverAdapters.Initial> {
    private final Broadcast<RunSpec> spec;

    private AdapterInit(Broadcast<RunSpec> spec) {
        this.spec = spec;
    }

    @Override
    public Iterator<DriverAdapters.Initial> call(Iterator<Integer> ignored) throws Exception {
        Worker w = WorkerCache.borrow(spec.value());
        try {
            return List.of(DriverAdapters.Initial.of(w)).iterator();
        } finally {
            WorkerCache.release(w);
        }
    }

    /**
     * Fetches the initial adapters. Bad input found on the executor (a model directory's tensors, an adapter to start
     * from) is rethrown as the IllegalArgumentException it was, so the command exits 2 naming the file.
     */
    static DriverAdapters.Initial fetch(JavaSparkContext sc, Broadcast<RunSpec> spec) throws Exception {
        sc.setJobDescription("peft4j: initialise adapters");
        try {
            return sc.parallelize(List.of(0), 1)
                    .mapPartitions(new AdapterInit(spec))
                    .collect()
                    .get(0);
        } catch (Exception e) { // collect() throws SparkException, a checked exception it does not declare
            throw badInput(e);
        }
    }

    private static Exception badInput(Exception e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof IllegalArgumentException bad) {
                return new IllegalArgumentException(bad.getMessage(), e);
            }
            if (t instanceof SparkException s && s.getMessage() != null) {
                // A task's exception reaches the driver as text: its class and message.
                String m = s.getMessage();
                int i = m.indexOf("java.lang.IllegalArgumentException: ");
                if (i >= 0) {
                    String msg = m.substring(i + "java.lang.IllegalArgumentException: ".length());
                    int nl = msg.indexOf('\n');
                    return new IllegalArgumentException(nl < 0 ? msg : msg.substring(0, nl), e);
                }
            }
        }
        return e;
    }
}
