package org.peft4j.job.eval;

import java.util.Arrays;
import org.peft4j.adapters.model.LossSum;
import org.peft4j.adapters.model.TokenBatch;
import org.peft4j.adapters.model.llama.LlamaModel;

/**
 * Perplexity as HF's language-modelling examples measure it: the token stream is cut into consecutive blocks of
 * {@code block} tokens (the last partial block is dropped, like {@code group_texts}); inside each block every token
 * after the first is predicted from those before it. Reports the mean negative log-likelihood over all predicted
 * tokens and its exponential.
 */
public final class Perplexity {
    private Perplexity() {}

    public record Result(long tokens, double nll) {
        public double perplexity() {
            return Math.exp(nll);
        }
    }

    public static Result of(LlamaModel model, int[] ids, int block, int rowsPerBatch) {
        if (block < 2) {
            throw new IllegalArgumentException("block size must be at least 2, found " + block);
        }
        int max = model.config().maxPositionEmbeddings();
        if (block > max) {
            throw new IllegalArgumentException("block size " + block + " exceeds max_position_embeddings " + max);
        }
        int blocks = ids.length / block;
        if (blocks == 0) {
            throw new IllegalArgumentException(
                    "the text has " + ids.length + " tokens, fewer than one block of " + block);
        }
        LossSum total = LossSum.ZERO;
        for (int b = 0; b < blocks; b += rowsPerBatch) {
            int rows = Math.min(rowsPerBatch, blocks - b);
            int[] x = Arrays.copyOfRange(ids, b * block, (b + rows) * block);
            int[] mask = new int[x.length];
            Arrays.fill(mask, 1);
            total = total.plus(model.causalLm(new TokenBatch(rows, block, x, mask, x, null), false));
        }
        return new Result(total.count(), total.mean());
    }
}
