package org.peft4j.adapters.train;

import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.model.LossSum;
import org.peft4j.adapters.model.TokenBatch;
import org.peft4j.adapters.model.llama.LlamaModel;
import org.peft4j.adapters.model.llama.SequenceHead;
import org.peft4j.adapters.optim.Optimizer;

/**
 * One executor's training loop body: zero the gradients, tell the adapters which global step runs (LaMDA freezes
 * B's rows by it), forward and backward through the model, one optimizer step over what still trains. A Spark
 * partition and a single-process run call exactly this.
 *
 * @param head a sequence head (classification/regression), or null for causal LM
 */
public record LocalTrainer(LlamaModel model, AdapterSet adapters, SequenceHead head, Optimizer optimizer) {

    /** One step; returns the batch's summed loss and its count (tokens for causal LM, rows for a head). */
    public LossSum step(TokenBatch batch, long globalStep, double lr) {
        adapters.onStep(globalStep);
        adapters.zeroGrad();
        LossSum loss = head == null ? model.causalLm(batch, true) : model.sequence(batch, head, true);
        optimizer.step(adapters.trainable(), lr);
        return loss;
    }

    /** The loss without training (evaluation). */
    public LossSum evaluate(TokenBatch batch) {
        return head == null ? model.causalLm(batch, false) : model.sequence(batch, head, false);
    }
}
