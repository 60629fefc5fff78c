package org.peft4j.job.metrics;

import java.util.Map;

/** What a run (since it started or resumed) did in all: the summary line printed at its end. */
public final class RunTotals {
    private int rounds;
    private long steps;
    private long tokens;
    private double seconds;
    private double taskSeconds;
    private long broadcast;
    private long returned;
    private long firstStep = -1;
    private long lastStep;

    public void add(RoundMetrics m, long localSteps) {
        if (firstStep < 0) {
            firstStep = m.globalStep() - localSteps;
        }
        rounds++;
        lastStep = m.globalStep();
        tokens += m.tokens();
        seconds += m.seconds();
        taskSeconds += m.taskSeconds();
        broadcast += m.broadcastBytes();
        returned += m.returnedBytes();
    }

    /**
     * {@code peft4j: done: 24 rounds, steps 0-120, 345,678 tokens in 123.4 s of training (2,801 tokens/s, 3.1% of it
     * outside the tasks); moved 1,234 B broadcast, 5,678 B returned; best eval_accuracy 0.81; last eval {...}}.
     */
    public String summary(String bestMetric, Double bestValue, Map<String, Object> lastEval) {
        if (rounds == 0) {
            return "peft4j: done: no rounds left to train (the run had finished)";
        }
        return String.format(
                "peft4j: done: %d rounds, steps %d-%d, %,d tokens in %.1f s of training (%,.0f tokens/s, %.1f%% of"
                        + " it outside the tasks); moved %,d B broadcast, %,d B returned%s%s",
                rounds,
                Math.max(firstStep, 0),
                lastStep,
                tokens,
                seconds,
                seconds > 0 ? tokens / seconds : 0.0,
                seconds > 0 ? 100 * (seconds - taskSeconds) / seconds : 0.0,
                broadcast,
                returned,
                bestValue == null ? "" : "; best " + bestMetric + " " + bestValue,
                lastEval.isEmpty() ? "" : "; last eval " + lastEval);
    }
}
