package org.peft4j.job.rounds;

import java.io.Serializable;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.util.LongAccumulator;

/**
 * Steps and tokens trained, counted in two named Spark accumulators ({@code peft4j steps}, {@code peft4j tokens}):
 * the Spark UI shows them per stage, and the driver's {@link RoundProgress} reads running tasks' counts from executor
 * heartbeats to print progress within a long round.
 */
public final class StepProgress implements Serializable {
    public static final String STEPS = "peft4j steps";
    public static final String TOKENS = "peft4j tokens";
    static final StepProgress NONE = new StepProgress(null, null);

    private final LongAccumulator steps;
    private final LongAccumulator tokens;

    private StepProgress(LongAccumulator steps, LongAccumulator tokens) {
        this.steps = steps;
        this.tokens = tokens;
    }

    /** Registers the two accumulators with {@code sc}. */
    static StepProgress register(JavaSparkContext sc) {
        return new StepProgress(sc.sc().longAccumulator(STEPS), sc.sc().longAccumulator(TOKENS));
    }

    void stepDone(long realTokens) {
        if (steps != null) {
            steps.add(1);
            tokens.add(realTokens);
        }
    }

    long stepsId() {
        return steps.id();
    }

    long tokensId() {
        return tokens.id();
    }

    long steps() {
        return steps.value();
    }

    long tokens() {
        return tokens.value();
    }
}
