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

    /** @param progressSeconds {@code run.progress_seconds}: progress lines within a round this often, 0 none */
    public record Run(String output, long seed, int progressSeconds) implements Serializable {}

    /**
     * @param adapter {@code adapter.init_from}: an adapter directory (peft4j's or PEFT's LoRA format) the run's
     *     adapters start from instead of their initialisation, or null
     */
    /** @param dtype how the base model is stored and computed (model.dtype) */
    public record Model(String path, String adapter, org.peft4j.job.model.ModelDtype dtype) implements Serializable {}

    /** One training source of a mixture. */
    public record Source(String dataset, String path, double weight) implements Serializable {}

    /**
     * @param evalPath null when evaluation reads no file (off, or a split of the training data)
     * @param evalSplit {@code data.eval.split}: a fraction (below 1) or a number of the training records held out
     *     as the evaluation set, null for none
     * @param microBatchRows rows per forward/backward; gradients accumulate over batchRows / microBatchRows of them
     * @param groupByLength batches of similar lengths (HF's {@code group_by_length}) instead of a plain shuffle
     * @param trainOnInputs score the prompt's tokens too (LLM-Adapters' train_on_inputs), not only the response's
     */
    public record Data(
            Task task,
            List<Source> train,
            String evalDataset,
            String evalPath,
            int evalMaxRecords,
            Double evalSplit,
            String template,
            int maxLength,
            int batchRows,
            int microBatchRows,
            boolean groupByLength,
            boolean trainOnInputs,
            String onBadRecord)
            implements Serializable {
        public boolean sequenceTask() {
            return task == Task.SEQUENCE;
        }

        /** Whether a round evaluates at all (a file or a split). */
        public boolean evaluates() {
            return evalPath != null || evalSplit != null;
        }
    }

    /**
     * @param rounds null when {@code epochs} decides them (see {@link #resolve})
     * @param epochs passes over the training data, or null when {@code rounds} is set
     * @param warmupRatio a fraction of the total steps for linear warm-up, or null (then {@code warmupSteps})
     * @param maxGradNorm clip the global gradient norm to this, or null for no clipping
     */
    public record Train(
            Integer rounds,
            Double epochs,
            int localSteps,
            OptimizerKind optimizer,
            double lr,
            LrScheduleKind lrSchedule,
            int warmupSteps,
            Double warmupRatio,
            double weightDecay,
            Double maxGradNorm,
            double adamBeta1,
            double adamBeta2,
            double adamEps)
            implements Serializable {

        /** The run's optimizer steps; needs the rounds ({@link #resolve} them first when epochs were given). */
        public long totalSteps() {
            if (rounds == null) {
                throw new IllegalStateException("train.epochs set: the rounds are resolved from the data first");
            }
            return (long) rounds * localSteps;
        }

        /** Warm-up steps: {@code warmup_steps}, or ceil(ratio * total steps) as HF Trainer computes it. */
        public long warmup() {
            return warmupRatio == null ? warmupSteps : (long) Math.ceil(warmupRatio * totalSteps());
        }

        /**
         * With {@code epochs}: the rounds that cover them, an epoch being ceil(examples / (executors * batch rows))
         * steps of every executor (the mean shard's batches); with {@code rounds}: unchanged.
         */
        public Train resolve(long examples, int executors, int batchRows) {
            if (rounds != null) {
                return this;
            }
            long perEpoch = Math.max(1, (examples + (long) executors * batchRows - 1) / ((long) executors * batchRows));
            long steps = (long) Math.ceil(epochs * perEpoch);
            int r = (int) Math.max(1, (steps + localSteps - 1) / localSteps);
            return new Train(
                    r,
                    epochs,
                    localSteps,
                    optimizer,
                    lr,
                    lrSchedule,
                    warmupSteps,
                    warmupRatio,
                    weightDecay,
                    maxGradNorm,
                    adamBeta1,
                    adamBeta2,
                    adamEps);
        }
    }

    public record Spark(String master, int executors, java.util.Map<String, String> conf) implements Serializable {}

    /** @param best keep best/ by this evaluation metric, or null */
    public record Checkpoint(int every, int keep, Best best) implements Serializable {}

    /**
     * {@code checkpoint.best}: the evaluation metric that picks best/ and whether higher is better.
     *
     * @param metric eval_loss, eval_accuracy or a GLUE metric (eval_f1, eval_matthews_correlation, ...)
     */
    public record Best(String metric, boolean maximize) implements Serializable {
        /** Whether {@code value} beats {@code best} (any value beats null). */
        public boolean better(double value, Double best) {
            return best == null || (maximize ? value > best : value < best);
        }
    }

    /**
     * @param maxNewTokens null: 32 for commonsense and GLUE, 256 for math, as LLM-Adapters evaluates
     * @param atStart also evaluate the initial adapters before the first round (global step 0) of a fresh run
     */
    public record Eval(int every, Integer maxNewTokens, int numBeams, boolean atStart) implements Serializable {
        public int maxNewTokens(String dataset) {
            if (maxNewTokens != null) {
                return maxNewTokens;
            }
            return dataset.equals("metamath") || dataset.equals("gsm8k") ? 256 : 32;
        }
    }

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
