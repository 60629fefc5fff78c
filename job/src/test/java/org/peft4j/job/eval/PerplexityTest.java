package org.peft4j.job.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.peft4j.adapters.model.TokenBatch;
import org.peft4j.adapters.model.llama.LlamaModel;
import org.peft4j.adapters.model.llama.TinyLlama;

class PerplexityTest {
    static final LlamaModel MODEL = new LlamaModel(TinyLlama.weights(DataType.FLOAT));

    @Test
    void blocksDropThePartialTailAndCountPredictedTokens() {
        int block = 40;
        int[] ids = new int[3 * block + 17];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = 3 + (i * 7) % 256;
        }
        Perplexity.Result batched = Perplexity.of(MODEL, ids, block, 2);
        assertEquals(3 * (block - 1), batched.tokens());
        // The same number, block by block, from the model's own loss: batching rows changes nothing.
        double sum = 0;
        for (int b = 0; b < 3; b++) {
            int[] x = Arrays.copyOfRange(ids, b * block, (b + 1) * block);
            int[] mask = new int[block];
            Arrays.fill(mask, 1);
            sum += MODEL.causalLm(new TokenBatch(1, block, x, mask, x, null), false)
                    .sum();
        }
        assertEquals(sum / (3 * (block - 1)), batched.nll(), 1e-5);
        assertEquals(Math.exp(batched.nll()), batched.perplexity(), 1e-9);
        // A random model: near log(259) = 5.56 nats, a little worse because its random logits are of order one.
        assertTrue(batched.nll() > 5 && batched.nll() < 7, "nll " + batched.nll());
    }

    @Test
    void tooShortTextAndTooLongBlocksAreRejected() {
        var e = assertThrows(IllegalArgumentException.class, () -> Perplexity.of(MODEL, new int[10], 16, 1));
        assertEquals("the text has 10 tokens, fewer than one block of 16", e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> Perplexity.of(MODEL, new int[4096], 1024, 1));
        assertEquals("block size 1024 exceeds max_position_embeddings 512", e2.getMessage());
    }
}
