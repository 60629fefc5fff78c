package org.peft4j.job.checkpoint;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.peft4j.job.config.ConfigLoader;
import org.peft4j.job.config.JobConfig;

/**
 * How batching enters the resume check: a changed {@code data.group_by_length} refuses to resume, and a checkpoint
 * written before the key existed (batches always grouped by length) resumes only with grouping on.
 */
class ResumeFingerprintTest {
    private static JobConfig config(boolean grouped) throws Exception {
        return ConfigLoader.load(null, List.of("train.rounds=2", "data.group_by_length=" + grouped));
    }

    @Test
    void batchingIsPartOfTheFingerprint() throws Exception {
        ObjectNode plain = new ObjectMapper().valueToTree(ResumeFingerprint.of(config(false)));
        assertDoesNotThrow(() -> ResumeFingerprint.check(config(false), plain, "ck"));
        var e = assertThrows(IllegalArgumentException.class, () -> ResumeFingerprint.check(config(true), plain, "ck"));
        assertTrue(
                e.getMessage().contains("peft4j.data.group_by_length: checkpoint has false, config has true"),
                e.getMessage());
    }

    @Test
    void aCheckpointFromBeforeTheKeyResumesOnlyGrouped() throws Exception {
        ObjectNode old = new ObjectMapper().valueToTree(ResumeFingerprint.of(config(true)));
        old.remove("data.group_by_length");
        assertDoesNotThrow(() -> ResumeFingerprint.check(config(true), old, "ck"));
        var e = assertThrows(IllegalArgumentException.class, () -> ResumeFingerprint.check(config(false), old, "ck"));
        assertTrue(
                e.getMessage().contains("peft4j.data.group_by_length: checkpoint has true, config has false"),
                e.getMessage());
    }
}
