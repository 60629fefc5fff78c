package org.peft4j.job.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.peft4j.job.config.JobConfig;

/** The settings a resumed run must share with its checkpoint for the result to be the same run. */
public final class ResumeFingerprint {
    /**
     * Settings whose default changed after checkpoints were written without them: what such a checkpoint ran with.
     * Batches were always grouped by length before {@code data.group_by_length} existed, and it now defaults to false.
     */
    private static final Map<String, String> BEFORE_THE_KEY = Map.of("data.group_by_length", "true");

    private ResumeFingerprint() {}

    /** Setting name (as in the run file, without {@code peft4j.}) to its value as text. */
    public static Map<String, String> of(JobConfig c) {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("model.path", c.model().path());
        f.put("adapter.method", c.adapter().method().name());
        f.put("adapter.rank", Integer.toString(c.adapter().rank()));
        f.put("adapter.alpha", Double.toString(c.adapter().alpha()));
        f.put("adapter.targets", c.adapter().targets().toString());
        f.put("adapter.options", c.adapter().options().toJson().toString());
        if (c.model().adapter() != null) {
            f.put("adapter.init_from", c.model().adapter());
        }
        f.put("run.seed", Long.toString(c.run().seed()));
        f.put("data.task", c.data().task().key());
        f.put("data.train", c.data().train().toString());
        f.put("data.template", c.data().template());
        f.put("data.max_length", Integer.toString(c.data().maxLength()));
        f.put("data.batch_rows", Integer.toString(c.data().batchRows()));
        f.put("data.group_by_length", Boolean.toString(c.data().groupByLength()));
        f.put("train.rounds", String.valueOf(c.train().rounds()));
        f.put("train.local_steps", Integer.toString(c.train().localSteps()));
        f.put("train.optimizer", c.train().optimizer().key());
        f.put("train.lr", Double.toString(c.train().lr()));
        f.put("train.lr_schedule", c.train().lrSchedule().key());
        f.put("train.warmup_steps", Integer.toString(c.train().warmupSteps()));
        f.put("train.weight_decay", Double.toString(c.train().weightDecay()));
        f.put("spark.executors", Integer.toString(c.spark().executors()));
        // Settings added later are compared only when used, so checkpoints from before them still resume.
        optional(f, "data.micro_batch_rows", c.data().microBatchRows(), c.data().batchRows());
        optional(f, "data.eval.split", c.data().evalSplit(), null);
        optional(f, "data.train_on_inputs", c.data().trainOnInputs(), false);
        optional(f, "model.dtype", c.model().dtype().key(), "auto");
        optional(f, "train.epochs", c.train().epochs(), null);
        optional(f, "train.warmup_ratio", c.train().warmupRatio(), null);
        optional(f, "train.max_grad_norm", c.train().maxGradNorm(), null);
        optional(f, "train.adam_betas", c.train().adamBeta1() + "," + c.train().adamBeta2(), "0.9,0.999");
        optional(f, "train.adam_eps", c.train().adamEps(), 1e-8);
        optional(f, "adapter.dropout", c.adapter().dropout(), 0.0);
        optional(f, "adapter.layers", c.adapter().layers(), null);
        return f;
    }

    private static void optional(Map<String, String> f, String key, Object value, Object dflt) {
        if (!java.util.Objects.equals(value, dflt)) {
            f.put(key, String.valueOf(value));
        }
    }

    /** Fails, listing every difference, when {@code saved} (a checkpoint's fingerprint) does not match {@code c}. */
    public static void check(JobConfig c, JsonNode saved, String dir) {
        List<String> diffs = new ArrayList<>();
        Map<String, String> mine = of(c);
        mine.forEach((k, v) -> {
            String s = saved.path(k).asText(BEFORE_THE_KEY.get(k));
            if (!v.equals(s)) {
                diffs.add("peft4j." + k + ": checkpoint has " + s + ", config has " + v);
            }
        });
        saved.fieldNames().forEachRemaining(k -> {
            if (!mine.containsKey(k)) {
                diffs.add("peft4j." + k + ": checkpoint has " + saved.get(k).asText() + ", config has the default");
            }
        });
        if (!diffs.isEmpty()) {
            throw new IllegalArgumentException(dir + " was written by a different configuration; resuming would not"
                    + " give the run it started (use another run.output, or restore these settings):\n  "
                    + String.join("\n  ", diffs));
        }
    }
}
