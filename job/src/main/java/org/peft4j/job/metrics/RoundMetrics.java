package org.peft4j.job.metrics;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What one round did: a line of {@code metrics.jsonl} and of the progress log.
 *
 * @param loss mean training loss over the round's steps on all executors
 * @param lr learning rate of the round's last step
 * @param gradNorm mean global gradient norm of the round's steps, before clipping
 * @param sequences sequences trained on (the averaging weight)
 * @param seconds wall time of the round's training and averaging (evaluation excluded)
 * @param broadcastBytes adapter state each executor that trained the previous round fetches (the round's live rows
 *     and its settled part); an executor new to the run fetches the earlier settled parts once as well
 * @param returnedBytes results sent back by all executors together
 * @param taskSeconds the slowest training task of the round (its state update and steps); the rest of
 *     {@code seconds} is the round's overhead: scheduling, broadcast, collecting and averaging
 * @param eval evaluation metrics when this round evaluated, else empty
 * @param method the adapter method, and {@code rank} its rank
 * @param trainable values that trained in this round's first step (LaMDA's drop once PMB freezes)
 */
public record RoundMetrics(
        String method,
        int rank,
        long trainable,
        int round,
        long globalStep,
        double loss,
        double lr,
        double gradNorm,
        long sequences,
        long tokens,
        double seconds,
        long broadcastBytes,
        long returnedBytes,
        double taskSeconds,
        Map<String, Object> eval) {

    public double tokensPerSecond() {
        return tokens / seconds;
    }

    /** The JSON record, keys in a fixed order. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("round", round);
        m.put("method", method);
        m.put("rank", rank);
        m.put("trainable", trainable);
        m.put("global_step", globalStep);
        m.put("loss", loss);
        m.put("lr", lr);
        m.put("grad_norm", gradNorm);
        m.put("sequences", sequences);
        m.put("tokens", tokens);
        m.put("tokens_per_s", tokensPerSecond());
        m.put("broadcast_bytes", broadcastBytes);
        m.put("returned_bytes", returnedBytes);
        m.put("seconds", seconds);
        m.put("task_seconds", taskSeconds);
        m.put("overhead_seconds", seconds - taskSeconds);
        m.putAll(eval);
        return m;
    }

    /** {@code round 3/24  step 15  loss 0.4213  3600 tokens/s  broadcast ... B  returned ... B  6.1 s[  eval {...}]}. */
    public String progressLine(int rounds) {
        return String.format(
                "round %d/%d  step %d  loss %.4f  %.0f tokens/s  broadcast %,d B  returned %,d B  %.1f s%s",
                round + 1,
                rounds,
                globalStep,
                loss,
                tokensPerSecond(),
                broadcastBytes,
                returnedBytes,
                seconds,
                eval.isEmpty() ? "" : "  eval " + eval);
    }
}
