package org.peft4j.job.config;

import java.io.Serializable;
import java.util.List;
import java.util.Locale;
import org.peft4j.adapters.core.AdapterSpec;
import org.peft4j.adapters.core.KeyedOption;

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

    /**
     * @param adapter {@code adapter.init_from}: an adapter directory (peft4j's or PEFT's LoRA format) the run's
     *     adapters start from instead of their initialisation, or null
     */
    public record Model(String path, String adapter) implements Serializable {}

    /** One training source of a mixture. */
    public record Source(String dataset, String path, double weight) implements Serializable {}

    /** @param evalPath null when evaluation is off */
    public record Data(
            Task task,
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
            return task == Task.SEQUENCE;
        }
    }

    public record Train(
            int rounds,
            int localSteps,
            OptimizerKind optimizer,
            double lr,
            LrScheduleKind lrSchedule,
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

    /** {@code data.task}: what the model learns. */
    public enum Task implements KeyedOption {
        /** Instruction tuning: next-token loss on the responses. */
        CAUSAL_LM,
        /** GLUE with a classification or regression head on the last token. */
        SEQUENCE;

        @Override
        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** {@code train.optimizer}. */
    public enum OptimizerKind implements KeyedOption {
        ADAMW,
        SGD
    }

    /** {@code train.lr_schedule}: decay after the warm-up. */
    public enum LrScheduleKind implements KeyedOption {
        CONSTANT,
        LINEAR,
        COSINE
    }
}
