package org.peft4j.job.config;

import java.io.Serializable;
import java.util.List;
import org.peft4j.adapters.core.AdapterSpec;

/**
 * A run's whole configuration, immutable, built and validated once by {@link ConfigLoader} from HOCON.
 *
 * @param rendered the resolved configuration as HOCON text (printed at start, stored in checkpoints)
 */
public record JobConfig(
        Run run,
        Model model,
        AdapterSpec adapter,
        Data data,
        Train train,
        Spark spark,
        Checkpoint checkpoint,
        Eval eval,
        String rendered)
        implements Serializable {

    public record Run(String output, long seed) implements Serializable {}

    public record Model(String path) implements Serializable {}

    /** One training source of a mixture. */
    public record Source(String dataset, String path, double weight) implements Serializable {}

    /** @param evalPath null when evaluation is off */
    public record Data(
            String task,
            List<Source> train,
            String evalDataset,
            String evalPath,
            int evalMaxRecords,
            String template,
            int maxLength,
            int batchRows,
            String onBadRecord)
            implements Serializable {
        public boolean sequenceTask() {
            return task.equals("sequence");
        }
    }

    public record Train(
            int rounds,
            int localSteps,
            String optimizer,
            double lr,
            String lrSchedule,
            int warmupSteps,
            double weightDecay)
            implements Serializable {
        public long totalSteps() {
            return (long) rounds * localSteps;
        }
    }

    public record Spark(String master, int executors, java.util.Map<String, String> conf) implements Serializable {}

    public record Checkpoint(int every, int keep) implements Serializable {}

    public record Eval(int every, int maxNewTokens) implements Serializable {}
}
