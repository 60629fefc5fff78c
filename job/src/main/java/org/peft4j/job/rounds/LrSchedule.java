package org.peft4j.job.rounds;

import org.peft4j.job.config.JobConfig;

/** Learning rate by global step, decided on the driver and sent with each round. */
public final class LrSchedule {
    private LrSchedule() {}

    /**
     * Linear warm-up over {@code warmup_steps} (or {@code warmup_ratio} of the total), then the schedule's decay over
     * the remaining steps. {@code t} must have its rounds resolved.
     */
    public static double at(JobConfig.Train t, long step) {
        if (step < t.warmupSteps()) {
            return t.lr() * (step + 1) / t.warmupSteps();
        }
        long total = t.totalSteps();
        double progress = total <= t.warmupSteps() ? 1 : (double) (step - t.warmupSteps()) / (total - t.warmupSteps());
        return switch (t.lrSchedule()) {
            case CONSTANT -> t.lr();
            case LINEAR -> t.lr() * Math.max(0, 1 - progress);
            case COSINE -> t.lr() * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress)));
        };
    }
}
