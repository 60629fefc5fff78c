package org.peft4j.job.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.io.AdapterCheckpoint;
import org.peft4j.adapters.optim.Optimizer;
import org.peft4j.job.config.JobConfig;
import org.peft4j.job.fs.Locations;
import org.peft4j.job.state.AdapterState;

/**
 * The files of one checkpoint directory and of {@code final/}: the adapter directory ({@code adapter_config.json} +
 * {@code adapter_model.safetensors}, loadable by perplexity, merge, eval and inspect), {@value #STATE} (every changing
 * tensor and optimizer moment), {@value #TRAINER} (round, global step, seed, data position, version, the resume
 * fingerprint) and {@value #RUN_CONF} (the resolved configuration).
 */
public final class CheckpointFiles {
    public static final String STATE = "state.safetensors";
    public static final String TRAINER = "trainer_state.json";
    public static final String RUN_CONF = "run.conf";
    private static final ObjectMapper JSON = new ObjectMapper();

    private CheckpointFiles() {}

    /**
     * Where a resumed run continues: after {@code nextRound - 1}, at {@code globalStep}; {@code best} the best
     * evaluation value recorded (checkpoint.best), or null.
     */
    public record Resume(String dir, int nextRound, long globalStep, Double best) {}

    public static Map<String, byte[]> of(
            AdapterSet set, Optimizer optimizer, JobConfig c, int round, long step, Double best) throws IOException {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("round", round);
        t.put("global_step", step);
        t.put("peft4j_version", AdapterCheckpoint.VERSION);
        t.put("seed", c.run().seed());
        t.put(
                "data_position",
                new TreeMap<>(Map.of(
                        "global_step",
                        step,
                        "scheme",
                        "shard p, step s: batch s mod n of epoch s / n, batched with seed (run seed, p, epoch)")));
        t.put("fingerprint", ResumeFingerprint.of(c));
        if (best != null) {
            t.put("best_metric_value", best);
        }
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.putAll(AdapterCheckpoint.toFiles(set, c.model().path()));
        files.put(STATE, AdapterState.viewOf(set, optimizer).toBytes());
        files.put(TRAINER, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(t));
        files.put(RUN_CONF, c.rendered().getBytes(StandardCharsets.UTF_8));
        return files;
    }

    /**
     * Continues from a verified checkpoint: checks that it was written by this configuration (else fails listing the
     * differences) and loads its state into the adapters and optimizer.
     */
    public static Resume resume(CheckpointStore.Loaded ck, JobConfig c, AdapterSet set, Optimizer optimizer)
            throws IOException {
        JsonNode t = JSON.readTree(ck.files().get(TRAINER));
        ResumeFingerprint.check(c, t.path("fingerprint"), ck.dir());
        loadState(ck, set, optimizer);
        return new Resume(
                ck.dir(),
                t.path("round").asInt() + 1,
                t.path("global_step").asLong(),
                t.has("best_metric_value") ? t.get("best_metric_value").asDouble() : null);
    }

    /** Loads a checkpoint's changing tensors and optimizer moments. */
    public static void loadState(CheckpointStore.Loaded ck, AdapterSet set, Optimizer optimizer) {
        AdapterState.fromBytes(ck.files().get(STATE), ck.dir() + "/" + STATE).applyTo(set, optimizer);
    }

    /** Writes the adapter directory (config and tensors) to {@code dir} on any file system. */
    public static void writeAdapter(String dir, AdapterSet set, String baseModel) throws IOException {
        writeFiles(dir, AdapterCheckpoint.toFiles(set, baseModel));
    }

    /** Writes each file under {@code dir} (temporary name, then renamed). */
    public static void writeFiles(String dir, Map<String, byte[]> files) throws IOException {
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            Locations.write(dir, f.getKey(), o -> o.write(f.getValue()));
        }
    }
}
