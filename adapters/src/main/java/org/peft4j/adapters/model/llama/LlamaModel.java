package org.peft4j.adapters.model.llama;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.peft4j.adapters.core.Scratch;
import org.peft4j.adapters.core.TargetLinear;
import org.peft4j.adapters.model.LossSum;
import org.peft4j.adapters.model.TokenBatch;

/**
 * A LLaMA-family decoder (HF {@code LlamaForCausalLM}) with explicit forward and backward passes: embedding,
 * pre-norm blocks of grouped-query attention with rotary positions and a SwiGLU MLP, a final RMSNorm and the LM
 * head. Every base weight is frozen and shared, never copied per step; gradients reach only adapter tensors (through
 * {@link TargetLinear}) and a {@link SequenceHead} when one is used. Backward stops at the lowest layer that holds an
 * adapter.
 *
 * <p>Not thread-safe: one model per executor thread, reused across steps (its buffers are).
 */
public final class LlamaModel {
    private final LlamaConfig config;
    private final LlamaWeights weights;
    private final Rotary rotary;
    private final List<DecoderLayer> layers = new ArrayList<>();
    private final RmsNorm finalNorm;
    private final Scratch scratch;
    private final Scratch shared;
    private final CausalLmLoss lmLoss;
    private Rotary.Tables ropeCache;
    private int ropeCacheLength = -1;

    public LlamaModel(LlamaWeights weights) {
        this.config = weights.config();
        this.weights = weights;
        this.rotary = new Rotary(config.headDim(), config.rope());
        this.scratch = new Scratch(weights.computeType());
        // Layers run backward one after another, so one set of backward buffers serves them all (1.3 GB less at
        // d=1024, 8 layers, 2048 tokens than a set per layer).
        this.shared = new Scratch(weights.computeType());
        for (int l = 0; l < config.numHiddenLayers(); l++) {
            layers.add(new DecoderLayer(l, config, weights.layers().get(l), rotary, shared));
        }
        this.finalNorm = new RmsNorm(weights.finalNorm(), config.rmsNormEps(), scratch, "final");
        this.lmLoss = new CausalLmLoss(scratch);
    }

    /**
     * Bytes of the work buffers the model holds now: activations kept for backward, per layer, and the buffers its
     * layers share (backward's, and those of passes that do not train). Adapters' own buffers are not counted.
     */
    public long activationBytes() {
        long n = scratch.bytes() + shared.bytes() + finalNorm.bufferBytes();
        for (DecoderLayer l : layers) {
            n += l.bufferBytes();
        }
        return n;
    }

    public LlamaConfig config() {
        return config;
    }

    public LlamaWeights weights() {
        return weights;
    }

    /** The seven linears of every layer, in layer order: what {@code AdapterInjector} chooses targets from. */
    /**
     * The target layers of a model of config {@code c} by name and shape only, in {@link #linears()} order: what the
     * Spark driver puts adapters on without loading the weights.
     */
    public static List<TargetLinear> shapeOnlyLinears(LlamaConfig c) {
        List<TargetLinear> out = new ArrayList<>();
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            for (String m : DecoderLayer.MODULES) {
                int[] s = c.moduleShape(m);
                out.add(TargetLinear.shapeOnly(
                        LlamaWeights.modulePath(l, m), s[0], s[1], org.nd4j.linalg.api.buffer.DataType.FLOAT));
            }
        }
        return out;
    }

    public List<TargetLinear> linears() {
        List<TargetLinear> out = new ArrayList<>();
        layers.forEach(l -> out.addAll(l.linears()));
        return out;
    }

    /**
     * Causal LM loss (summed NLL over labelled tokens and their count). With {@code train}, also the gradients of
     * the mean loss into every trainable adapter tensor (accumulated: call {@code zeroGrad} between steps).
     */
    public LossSum causalLm(TokenBatch batch, boolean train) {
        return causalLm(batch, train, scoredTokens(batch));
    }

    /**
     * As {@link #causalLm(TokenBatch, boolean)}, the gradient being that of the summed NLL over {@code scoredInStep}
     * tokens: for micro-batches of one optimizer step, whose gradients add up to the step's mean over all of them.
     */
    public LossSum causalLm(TokenBatch batch, boolean train, long scoredInStep) {
        if (batch.labels() == null) {
            throw new IllegalArgumentException("causal LM needs labels");
        }
        INDArray h = forward(batch, train);
        int[] targets = shiftedTargets(batch);
        INDArray dh = train ? scratch.get("dHidden", h.rows(), h.columns()) : null;
        LossSum loss = lmLoss.compute(h, lmHead(), targets, scoredInStep == 0 ? 0 : 1.0 / scoredInStep, dh);
        if (train) {
            backward(dh);
        }
        return loss;
    }

    /** Sequence classification or regression through {@code head}, which trains with the adapters. */
    public LossSum sequence(TokenBatch batch, SequenceHead head, boolean train) {
        return sequence(batch, head, train, batch.rows());
    }

    /** As {@link #sequence(TokenBatch, SequenceHead, boolean)}, the gradient that of the mean over {@code rowsInStep}. */
    public LossSum sequence(TokenBatch batch, SequenceHead head, boolean train, long rowsInStep) {
        if (batch.targets() == null) {
            throw new IllegalArgumentException("a sequence head needs one target per row");
        }
        INDArray h = forward(batch, train);
        INDArray dh = train ? scratch.get("dHidden", h.rows(), h.columns()) : null;
        LossSum loss = head.loss(h, batch, dh, rowsInStep);
        if (train) {
            backward(dh);
        }
        return loss;
    }

    /** Head logits (rows x labels) for a batch, for evaluation. */
    public INDArray sequenceLogits(TokenBatch batch, SequenceHead head) {
        return head.logits(forward(batch, false), batch);
    }

    /** Final normed hidden states (rows*length x hidden) of a right-padded batch; owned by the model. */
    public INDArray forward(TokenBatch batch, boolean train) {
        int rows = batch.rows();
        int len = batch.length();
        Pass p = new Pass(rows, len, 0, rope(len), null, null, train);
        return run(batch.inputIds(), p);
    }

    /** Greedy decoding until {@code eosId} or any of the config's {@code eos_token_id}s; see {@link Generation}. */
    public int[][] generate(int[][] prompts, int maxNewTokens, int eosId) {
        return generate(prompts, maxNewTokens, eosId, 1);
    }

    /**
     * Greedy decoding (one beam, batched) or beam search (several, one prompt at a time, as transformers' generate
     * with num_beams, length_penalty 1, early_stopping False), until {@code eosId} or any of the config's
     * {@code eos_token_id}s.
     */
    public int[][] generate(int[][] prompts, int maxNewTokens, int eosId, int numBeams) {
        java.util.Set<Integer> stops = new java.util.HashSet<>(config.eosTokenIds());
        stops.add(eosId);
        Generation g = new Generation(this);
        if (numBeams <= 1) {
            return g.greedy(prompts, maxNewTokens, stops);
        }
        int[][] out = new int[prompts.length][];
        for (int i = 0; i < prompts.length; i++) {
            out[i] = g.beam(prompts[i], numBeams, maxNewTokens, stops);
        }
        return out;
    }

    // ---- internals shared with Generation

    Rotary rotary() {
        return rotary;
    }

    /** Embedding lookup, the blocks, the final norm: the hidden states (rows*length x hidden) for {@code ids}. */
    INDArray run(int[] ids, Pass p) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + ids[i] + " at position " + i
                        + " is outside the vocabulary 0.." + (config.vocabSize() - 1));
            }
        }
        INDArray x = scratch.get("embedded", ids.length, config.hiddenSize());
        if (weights.embed().dataType() == x.dataType()) {
            Nd4j.pullRows(weights.embed(), x, 1, ids);
        } else { // bf16 table: the rows, then their exact fp32 values (assign widens in place, no temporary)
            INDArray rows = scratch.get(
                    "embedded.bf16",
                    ids.length,
                    config.hiddenSize(),
                    weights.embed().dataType());
            Nd4j.pullRows(weights.embed(), rows, 1, ids);
            x.assign(rows);
        }
        for (DecoderLayer layer : layers) {
            x = layer.forward(x, p);
        }
        return finalNorm.forward(x, true);
    }

    /** Logits (rows x vocab) for selected rows of the hidden states. */
    INDArray logitsOf(INDArray hiddenRows) {
        INDArray out = Nd4j.create(hiddenRows.dataType(), hiddenRows.rows(), config.vocabSize());
        INDArray head = lmHead();
        if (head.dataType() == DataType.BFLOAT16) { // as the loss does: the hidden rows rounded to bf16
            return org.peft4j.adapters.linalg.Gemm.set(
                    out, org.peft4j.adapters.linalg.Bf16.of(hiddenRows), false, head, true);
        }
        return org.peft4j.adapters.linalg.Gemm.set(out, hiddenRows, false, head, true);
    }

    /** (vocab x hidden): the untied head or the embedding. */
    private INDArray lmHead() {
        return weights.lmHead() == null ? weights.embed() : weights.lmHead();
    }

    private void backward(INDArray dHidden) {
        int lowest = -1;
        for (int l = 0; l < layers.size() && lowest < 0; l++) {
            if (layers.get(l).hasAdapter()) {
                lowest = l;
            }
        }
        if (lowest < 0) {
            return; // only a head trains: nothing below it needs a gradient
        }
        INDArray d = finalNorm.backward(dHidden);
        for (int l = layers.size() - 1; l >= lowest; l--) {
            d = layers.get(l).backward(d, l > lowest);
        }
    }

    /** Tokens a batch's causal LM loss scores: labels shifted by one, ignored labels left out. */
    public static long scoredTokens(TokenBatch b) {
        return Arrays.stream(shiftedTargets(b)).filter(t -> t >= 0).count();
    }

    /** Token t of a row predicts labels[t + 1]; the last token of each row predicts nothing. */
    private static int[] shiftedTargets(TokenBatch b) {
        int[] out = new int[b.rows() * b.length()];
        for (int r = 0; r < b.rows(); r++) {
            for (int t = 0; t < b.length(); t++) {
                int i = r * b.length() + t;
                int label = b.labels()[i];
                if (label < 0 && label != TokenBatch.IGNORE) {
                    throw new IllegalArgumentException("row " + r + ", token " + t + ": label " + label
                            + " is negative but not " + TokenBatch.IGNORE + " (ignore)");
                }
                out[i] = t + 1 < b.length() && b.labels()[i + 1] != TokenBatch.IGNORE ? b.labels()[i + 1] : -1;
            }
        }
        return out;
    }

    private Rotary.Tables rope(int len) {
        if (len != ropeCacheLength) {
            int[] pos = new int[len];
            for (int t = 0; t < len; t++) {
                pos[t] = t;
            }
            ropeCache = rotary.tables(pos, 1, len);
            ropeCacheLength = len;
        }
        return ropeCache;
    }

    static INDArray rows(INDArray m, int from, int to) {
        return m.get(NDArrayIndex.interval(from, to), NDArrayIndex.all());
    }
}
