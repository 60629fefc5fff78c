package org.peft4j.job.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.peft4j.job.config.JobConfig;

/** The settings a resumed run must share with its checkpoint for the result to be the same run. */
public final class ResumeFingerprint {
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
        f.put("train.rounds", Integer.toString(c.train().rounds()));
        f.put("train.local_steps", Integer.toString(c.train().localSteps()));
        f.put("train.optimizer", c.train().optimizer().key());
        f.put("train.lr", Double.toString(c.train().lr()));
        f.put("train.lr_schedule", c.train().lrSchedule().key());
        f.put("train.warmup_steps", Integer.toString(c.train().warmupSteps()));
        f.put("train.weight_decay", Double.toString(c.train().weightDecay()));
        f.put("spark.executors", Integer.toString(c.spark().executors()));
        return f;
    }

    /** Fails, listing every difference, when {@code saved} (a checkpoint's fingerprint) does not match {@code c}. */
    public static void check(JobConfig c, JsonNode saved, String dir) {
        List<String> diffs = new ArrayList<>();
        of(c).forEach((k, v) -> {
            String s = saved.path(k).asText(null);
            if (!v.equals(s)) {
                diffs.add("peft4j." + k + ": checkpoint has " + s + ", config has " + v);
            }
        });
        if (!diffs.isEmpty()) {
            throw new IllegalArgumentException(dir + " was written by a different configuration; resuming would not"
                    + " give the run it started (use another run.output, or restore these settings):\n  "
                    + String.join("\n  ", diffs));
        }
    }
}
