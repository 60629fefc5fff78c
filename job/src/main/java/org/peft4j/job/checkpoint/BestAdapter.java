package org.peft4j.job.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.io.AdapterCheckpoint;
import org.peft4j.job.config.JobConfig;

/**
 * {@code checkpoint.best}: keeps {@code best/} (a loadable adapter directory, with {@value #STATE} saying which round
 * and value) for the best evaluation so far, like HF Trainer's load_best_model_at_end. The best value travels in
 * every checkpoint, so a resumed run keeps comparing against it.
 */
public final class BestAdapter {
    public static final String STATE = "best_state.json";
    private final JobConfig c;
    private final JobConfig.Best best;
    private Double value;

    /** @param resumed the best value a resumed checkpoint recorded, or null */
    public BestAdapter(JobConfig c, Double resumed) {
        this.c = c;
        this.best = c.checkpoint().best();
        this.value = resumed;
    }

    /** The best value so far, or null. */
    public Double value() {
        return value;
    }

    /** Writes best/ when this evaluation beats the best so far; returns whether it did. */
    public boolean offer(Map<String, Object> eval, AdapterSet set, int round, long step) throws IOException {
        if (best == null) {
            return false;
        }
        Object v = eval.get(best.metric());
        if (!(v instanceof Number n)) {
            throw new IllegalArgumentException("peft4j.checkpoint.best.metric: expected one of the metrics this"
                    + " evaluation reports " + eval.keySet() + ", found " + best.metric());
        }
        if (!best.better(n.doubleValue(), value)) {
            return false;
        }
        value = n.doubleValue();
        String dir = RunLayout.bestDir(c.run().output());
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("metric", best.metric());
        state.put("mode", best.maximize() ? "max" : "min");
        state.put("value", value);
        state.put("round", round);
        state.put("global_step", step);
        state.put("peft4j_version", AdapterCheckpoint.VERSION);
        // The adapter files first, the state last: a best_state.json always describes the adapter beside it.
        CheckpointFiles.writeAdapter(dir, set, c.model().path());
        byte[] json = new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(state);
        CheckpointFiles.writeFiles(dir, Map.of(STATE, json));
        return true;
    }
}
