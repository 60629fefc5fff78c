package org.peft4j.adapters.train;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.core.AdapterParam;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.model.LossSum;
import org.peft4j.adapters.model.TokenBatch;
import org.peft4j.adapters.model.llama.LlamaModel;
import org.peft4j.adapters.model.llama.SequenceHead;
import org.peft4j.adapters.optim.Optimizer;

/**
 * One executor's training loop body: tell the adapters which global step runs (LaMDA freezes B's rows by it), zero
 * the gradients, forward and backward through the model micro-batch by micro-batch (gradients accumulate, weighted
 * so that the step equals one step over the whole batch), clip the global gradient norm, one optimizer step over what
 * still trains. A Spark partition and a single-process run call exactly this.
 *
 * @param head a sequence head (classification/regression), or null for causal LM
 * @param maxGradNorm clip the global norm of all adapter gradients to this (HF Trainer's max_grad_norm), null: no
 *     clipping
 */
public record LocalTrainer(
        LlamaModel model, AdapterSet adapters, SequenceHead head, Optimizer optimizer, Double maxGradNorm) {

    /** A trainer without gradient clipping. */
    public LocalTrainer(LlamaModel model, AdapterSet adapters, SequenceHead head, Optimizer optimizer) {
        this(model, adapters, head, optimizer, null);
    }

    /** What a step did: its summed loss and count, and the gradients' global norm before clipping. */
    public record StepResult(LossSum loss, double gradNorm) {}

    /** One step on one batch; returns its summed loss and count (tokens for causal LM, rows for a head). */
    public LossSum step(TokenBatch batch, long globalStep, double lr) {
        return step(List.of(batch), globalStep, lr, globalStep).loss();
    }

    /**
     * One optimizer step over the micro-batches of a batch: each one's gradient is that of its summed loss over the
     * scored tokens (or rows) of the whole batch, so their sum is the whole batch's mean-loss gradient.
     *
     * @param dropoutSeed the step's adapter-dropout seed (each micro-batch mixes in its index)
     */
    public StepResult step(List<TokenBatch> microBatches, long globalStep, double lr, long dropoutSeed) {
        adapters.onStep(globalStep);
        adapters.zeroGrad();
        long total = 0;
        for (TokenBatch b : microBatches) {
            total += head == null ? LlamaModel.scoredTokens(b) : b.rows();
        }
        LossSum loss = LossSum.ZERO;
        for (int i = 0; i < microBatches.size(); i++) {
            adapters.setDropoutSeed(dropoutSeed ^ (0x9E3779B97F4A7C15L * (i + 1)));
            TokenBatch b = microBatches.get(i);
            loss = loss.plus(head == null ? model.causalLm(b, true, total) : model.sequence(b, head, true, total));
        }
        double norm = gradNorm();
        if (maxGradNorm != null) {
            double coef = maxGradNorm / (norm + 1e-6); // as torch.nn.utils.clip_grad_norm_
            if (coef < 1) {
                for (AdapterParam p : adapters.trainable().values()) {
                    p.trainableRowsOf(p.grad()).muli(coef);
                }
            }
        }
        optimizer.step(adapters.trainable(), lr);
        return new StepResult(loss, norm);
    }

    /** The global L2 norm of every trainable gradient (over the rows that train). */
    public double gradNorm() {
        double sum = 0;
        for (AdapterParam p : adapters.trainable().values()) {
            INDArray g = p.trainableRowsOf(p.grad());
            double n = g.norm2Number().doubleValue();
            sum += n * n;
        }
        return Math.sqrt(sum);
    }

    /** The loss without training (evaluation). */
    public LossSum evaluate(TokenBatch batch) {
        return head == null ? model.causalLm(batch, false) : model.sequence(batch, head, false);
    }
}
