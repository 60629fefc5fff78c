package org.peft4j.job.worker;

import java.io.Serializable;
import java.util.UUID;
import org.peft4j.datasets.glue.GlueTask;
import org.peft4j.job.config.JobConfig;

/**
 * What every executor needs to build its local trainer, broadcast once per run.
 *
 * @param nonce identifies this driver's run: executor-side workers from an earlier run are dropped, never reused
 */
public record RunSpec(JobConfig config, String nonce) implements Serializable {

    /** A spec for a new run (a fresh nonce). */
    public static RunSpec fresh(JobConfig config) {
        return new RunSpec(config, UUID.randomUUID().toString());
    }

    /** Labels of the sequence head: those of the first GLUE source; 0 for causal LM. */
    public int numLabels() {
        return config.data().sequenceTask()
                ? GlueTask.ofDataset(config.data().train().get(0).dataset()).numLabels()
                : 0;
    }
}
