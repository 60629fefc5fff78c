package org.peft4j.adapters.model.llama;

import java.util.Arrays;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.model.TokenBatch;

/** Comparing the model with goldens from transformers and PEFT (src/test/python/hf_reference.py). */
public final class ModelGoldens {
    private ModelGoldens() {}

    /** The golden batch: rows of token ids ({@code input_ids}), every position real, labels = ids (HF shifts them). */
    public static TokenBatch batch(Map<String, INDArray> e) {
        INDArray ids = e.get("input_ids");
        int rows = (int) ids.size(0);
        int len = (int) ids.size(1);
        int[] flat = new int[rows * len];
        for (int i = 0; i < flat.length; i++) {
            flat[i] = (int) ids.getLong(i / len, i % len);
        }
        int[] mask = new int[flat.length];
        Arrays.fill(mask, 1);
        return new TokenBatch(rows, len, flat, mask, flat.clone(), null);
    }

    /** The model's logits on {@code batch} as (rows x length x vocab), the layout golden files hold. */
    public static INDArray logits(LlamaModel model, TokenBatch batch) {
        return model.logitsOf(model.forward(batch, false))
                .dup()
                .reshape(batch.rows(), batch.length(), model.config().vocabSize());
    }

    /** Largest absolute difference between the model's logits for the batch and {@code want} (rows x len x vocab). */
    public static double worstLogitError(LlamaModel model, TokenBatch batch, INDArray want) {
        INDArray logits = model.logitsOf(model.forward(batch, false));
        double worst = 0;
        for (int r = 0; r < batch.rows(); r++) {
            for (int t = 0; t < batch.length(); t++) {
                for (int v = 0; v < model.config().vocabSize(); v++) {
                    worst = Math.max(
                            worst, Math.abs(logits.getDouble(r * batch.length() + t, v) - want.getDouble(r, t, v)));
                }
            }
        }
        return worst;
    }
}
