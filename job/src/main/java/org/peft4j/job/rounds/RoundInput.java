package org.peft4j.job.rounds;

import java.io.Serializable;
import org.peft4j.job.state.StateSlice;

/**
 * What the driver broadcasts each round: the rows of adapter tensors and optimizer moments that can still change
 * (the whole state in a run's first round), the global step the round starts at, and the learning rate of each of
 * its local steps. Rows that froze for good travel once more, in the round's settled part (see {@link ExecutorStep}).
 */
public record RoundInput(int round, long step, long totalSteps, StateSlice live, double[] lrs)
        implements Serializable {}
