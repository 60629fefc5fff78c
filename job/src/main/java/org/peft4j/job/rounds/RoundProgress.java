package org.peft4j.job.rounds;

import java.io.PrintStream;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorMetricsUpdate;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import scala.Tuple4;
import scala.collection.JavaConverters;

/**
 * Progress within a round: every {@code run.progress_seconds} the driver prints steps done of the round's steps,
 * tokens/s and an ETA. Finished tasks count through the accumulators' merged values; running tasks through the
 * counts their executors' heartbeats carry.
 */
final class RoundProgress implements AutoCloseable {
    private final StepProgress progress;
    private final Map<Long, long[]> running = new ConcurrentHashMap<>();
    private final SparkListener listener;
    private final JavaSparkContext sc;
    private final ScheduledExecutorService timer;
    private final long steps0;
    private final long tokens0;
    private final long t0 = System.nanoTime();

    private RoundProgress(
            JavaSparkContext sc, StepProgress progress, String label, long totalSteps, int seconds, PrintStream log) {
        this.sc = sc;
        this.progress = progress;
        this.steps0 = progress.steps();
        this.tokens0 = progress.tokens();
        this.listener = new SparkListener() {
            @Override
            public void onExecutorMetricsUpdate(SparkListenerExecutorMetricsUpdate u) {
                for (Tuple4<Object, Object, Object, scala.collection.Seq<AccumulableInfo>> t :
                        JavaConverters.seqAsJavaList(u.accumUpdates())) {
                    long[] counts = new long[2];
                    for (AccumulableInfo a : JavaConverters.seqAsJavaList(t._4())) {
                        int k = a.id() == progress.stepsId() ? 0 : a.id() == progress.tokensId() ? 1 : -1;
                        if (k >= 0 && a.update().isDefined() && a.update().get() instanceof Long v) {
                            counts[k] = v;
                        }
                    }
                    running.put((Long) t._1(), counts);
                }
            }

            @Override
            public void onTaskEnd(SparkListenerTaskEnd e) {
                running.remove(e.taskInfo().taskId());
            }
        };
        sc.sc().addSparkListener(listener);
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread th = new Thread(r, "peft4j-progress");
            th.setDaemon(true);
            return th;
        });
        timer.scheduleAtFixedRate(() -> log.println(line(label, totalSteps)), seconds, seconds, TimeUnit.SECONDS);
    }

    /** Starts reporting (nothing when {@code seconds} is 0); close at the end of the round. */
    static AutoCloseable start(
            JavaSparkContext sc, StepProgress progress, String label, long totalSteps, int seconds, PrintStream log) {
        return seconds <= 0 ? () -> {} : new RoundProgress(sc, progress, label, totalSteps, seconds, log);
    }

    /** {@code peft4j: round 3/24  steps 12/40  2,345 tokens/s  ETA 35 s}. */
    String line(String label, long totalSteps) {
        long steps = progress.steps() - steps0;
        long tokens = progress.tokens() - tokens0;
        for (long[] c : running.values()) {
            steps += c[0];
            tokens += c[1];
        }
        double s = (System.nanoTime() - t0) / 1e9;
        String eta = steps == 0 ? "?" : String.format("%.0f s", s * (totalSteps - steps) / steps);
        return String.format(
                "peft4j: %s  steps %d/%d  %,.0f tokens/s  ETA %s", label, steps, totalSteps, tokens / s, eta);
    }

    @Override
    public void close() {
        timer.shutdownNow();
        sc.sc().removeSparkListener(listener);
    }
}
