package org.peft4j.adapters.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.peft4j.adapters.model.TokenBatch;
import org.peft4j.adapters.model.llama.LlamaModel;

/** {@code bench --scored}: the prompt's labels masked, the head's FLOPs counted for the scored tokens only. */
class ModelBenchScoredTest {
    private static ModelBench.Shape tiny(double scored) {
        return new ModelBench.Shape(null, 64, 0, 1, 4, 0, 101, 16, 2, 4, List.of("q_proj", "v_proj"), scored);
    }

    @Test
    void masksAllButTheLastTokensOfEachSequence() {
        TokenBatch b = ModelBench.Trainee.of(tiny(0.25), "lora", DataType.FLOAT).batch();
        for (int r = 0; r < 2; r++) {
            for (int t = 0; t < 16; t++) {
                int label = b.labels()[r * 16 + t];
                if (t < 12) {
                    assertEquals(TokenBatch.IGNORE, label, "row " + r + " token " + t + " is prompt");
                } else {
                    assertEquals(b.inputIds()[r * 16 + t], label, "row " + r + " token " + t + " is scored");
                }
            }
        }
        // token t predicts label t + 1: tokens 11..14 of each row, the last one predicting nothing
        assertEquals(2 * 4, LlamaModel.scoredTokens(b));
        assertEquals(
                2 * 15,
                LlamaModel.scoredTokens(
                        ModelBench.Trainee.of(tiny(1), "lora", DataType.FLOAT).batch()));
    }

    @Test
    void countsTheHeadForScoredTokensOnly() {
        double all = tiny(1).flops(true);
        double quarter = tiny(0.25).flops(true);
        double head = 2.0 * 2 * 2 * 16 * 64 * 101; // forward and backward, 2 x 16 tokens, d 64, vocab 101
        assertEquals(head * 0.75, all - quarter, 1e-6 * all);
        double tokens = 2 * 16;
        double linear = 4.0 * 64 * 64 + 3.0 * 64 * 128; // q, k, v, o and the MLP (ffn 8d/3 rounded down to 64)
        double attention = 2.0 * 2 * 16 * 16 * 64;
        assertEquals(2 * (2 * tokens * (linear + 64.0 * 101) + 2 * attention), all, 1e-9 * all, "the peer's count");
    }

    @Test
    void refusesFractionsOutsideTheRangeOrLeavingNothingScored() {
        assertThrows(IllegalArgumentException.class, () -> tiny(0));
        assertThrows(IllegalArgumentException.class, () -> tiny(1.5));
        assertThrows(IllegalArgumentException.class, () -> tiny(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> tiny(0.01)); // 16 tokens: none left scored
    }
}
