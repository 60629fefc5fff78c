package org.peft4j.job.rounds;

import java.io.Serializable;
import org.peft4j.job.config.JobConfig;

/**
 * What every executor needs to build its local trainer, broadcast once per run.
 *
 * @param nonce identifies this driver's run: executor-side workers from an earlier run are dropped, never reused
 * @param numLabels labels of the sequence head (0 for causal LM)
 */
public record RunSpec(JobConfig config, String nonce, int numLabels) implements Serializable {}
