package org.peft4j.job.checkpoint;

import org.peft4j.job.fs.Locations;

/**
 * What a run leaves under {@code run.output}, named once: {@code checkpoints/step-*}, {@code final/} (the trained
 * adapter), {@code best/} (the best evaluated one, with {@code checkpoint.best}), {@code metrics.jsonl} and
 * {@code metrics.png}.
 */
public final class RunLayout {
    public static final String CHECKPOINTS = "checkpoints";
    public static final String FINAL = "final";
    public static final String METRICS = "metrics.jsonl";
    /** The picture of {@link #METRICS}, rewritten at each evaluation and at the end. */
    public static final String METRICS_PNG = "metrics.png";

    public static final String BEST = "best";

    private RunLayout() {}

    public static String checkpoints(String output) {
        return Locations.child(output, CHECKPOINTS);
    }

    public static String bestDir(String output) {
        return Locations.child(output, BEST);
    }

    public static String finalDir(String output) {
        return Locations.child(output, FINAL);
    }
}
