package org.peft4j.job.rounds;

import java.io.Serializable;

/**
 * What the driver broadcasts each round: the adapter state (safetensors bytes, see
 * {@link org.peft4j.job.state.AdapterState}), the global step the round starts at, and the learning rate of each of
 * its local steps.
 */
public record RoundInput(int round, long step, long totalSteps, byte[] state, double[] lrs) implements Serializable {}
