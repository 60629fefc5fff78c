package org.peft4j.adapters.model.llama;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.peft4j.adapters.core.Scratch;
import org.peft4j.adapters.linalg.Bf16;
import org.peft4j.adapters.linalg.Blas;
import org.peft4j.adapters.linalg.PackedWeight;
import org.peft4j.adapters.linalg.RowSoftmax;
import org.peft4j.adapters.model.LossSum;

/**
 * Next-token cross-entropy with a per-token mask, fused with its gradient. The full (tokens x vocab) logits matrix
 * never exists: rows are processed in chunks of about {@link #CHUNK_ELEMENTS_FP32} or {@link #CHUNK_ELEMENTS_BF16}
 * logits, each chunk's softmax gradient is turned into d hidden at once, and no one-hot matrix is built: the target's
 * probability is read and its gradient written one element per row.
 *
 * <p>Only the scored rows go through the head: when some targets are negative (a prompt the loss is masked on, as with
 * {@code data.train_on_inputs = false}, or padding), the scored rows are gathered first and their gradient rows put
 * back after, the others' set to 0. transformers makes the logits of every row and lets the cross-entropy ignore the
 * masked ones; the loss and gradient here are the same, the head's two products only as many rows as are scored.
 */
final class CausalLmLoss {
    /**
     * Logits per chunk with an fp32 head: 512 rows at a 32k vocabulary (64 MB). Against 256 rows, the head's two
     * products alone ran 7-14% faster at two threads and 4-5% at one, and the bench's fp32 step, alternating in one
     * process, 1.08x (LoRA, 10 of 12 pairs faster), 1.11x (LoRA, 6 of 8) and 1.03x (LaMDA, 6 of 10) (Intel Xeon,
     * 2026-12-06).
     */
    static final long CHUNK_ELEMENTS_FP32 = 16L << 20;

    /**
     * With a bf16 head: 256 rows at 32k. 512 rows made the bf16 step slower (0.93x, 7 of 16 pairs faster), as 1024
     * had before (and took 0.6 GB more).
     */
    static final long CHUNK_ELEMENTS_BF16 = 8L << 20;

    /** Whether only the scored rows go through the head (false: every row; for tests and A/Bs). */
    private static volatile boolean compactScoredRows = true;

    private final Scratch scratch;
    private final long chunkElements;
    private PackedWeight packedHead;

    CausalLmLoss(Scratch scratch) {
        this(scratch, 0);
    }

    /** @param chunkElements logits per chunk, or 0 for the head's dtype's default (tests cut small models up with it) */
    CausalLmLoss(Scratch scratch, long chunkElements) {
        this.scratch = scratch;
        this.chunkElements = chunkElements;
    }

    /**
     * @param hidden final normed hidden states (n x d)
     * @param head the LM head or the tied embedding, (vocab x d)
     * @param targets per row the token to predict, or a negative number for no loss
     * @param weight multiplies every row's gradient (1 / number of scored tokens for a mean)
     * @param dHidden receives d loss / d hidden (n x d) when not null
     */
    LossSum compute(INDArray hidden, INDArray head, int[] targets, double weight, INDArray dHidden) {
        int n = (int) hidden.rows();
        int vocab = (int) head.rows();
        int scored = 0;
        for (int i = 0; i < n; i++) {
            if (targets[i] >= vocab) { // checked here, where i is still the token's own index
                throw new IllegalArgumentException(
                        "label " + targets[i] + " at token " + i + " is outside the vocabulary of " + vocab);
            }
            scored += targets[i] >= 0 ? 1 : 0;
        }
        if (scored == n || !compactScoredRows) {
            return chunks(hidden, n, head, targets, weight, dHidden);
        }
        // Only the scored rows go through the head: gathered into a buffer of n rows (one size per batch shape), the
        // loss made on its first `scored` rows, their gradient rows put back and every other row's set to 0.
        int d = (int) hidden.columns();
        INDArray gathered = scratch.get("scored.hidden", n, d);
        INDArray dGathered = dHidden == null ? null : scratch.get("scored.dHidden", n, d);
        int[] gatheredTargets = new int[scored];
        java.util.List<int[]> runs = scoredRuns(targets);
        int at = 0;
        for (int[] run : runs) {
            int len = run[1] - run[0];
            LlamaModel.rows(gathered, at, at + len).assign(LlamaModel.rows(hidden, run[0], run[1]));
            System.arraycopy(targets, run[0], gatheredTargets, at, len);
            at += len;
        }
        LossSum loss = scored == 0 ? LossSum.ZERO : chunks(gathered, scored, head, gatheredTargets, weight, dGathered);
        if (dHidden != null) {
            dHidden.assign(0);
            at = 0;
            for (int[] run : runs) {
                int len = run[1] - run[0];
                LlamaModel.rows(dHidden, run[0], run[1]).assign(LlamaModel.rows(dGathered, at, at + len));
                at += len;
            }
        }
        return loss;
    }

    /** Sets whether only the scored rows go through the head and returns the previous setting: for tests. */
    static boolean compactScoredRows(boolean on) {
        boolean before = compactScoredRows;
        compactScoredRows = on;
        return before;
    }

    /** The maximal runs [from, to) of rows whose target is scored (non-negative). */
    private static java.util.List<int[]> scoredRuns(int[] targets) {
        java.util.List<int[]> runs = new java.util.ArrayList<>();
        for (int i = 0; i < targets.length; ) {
            if (targets[i] < 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < targets.length && targets[j] >= 0) {
                j++;
            }
            runs.add(new int[] {i, j});
            i = j;
        }
        return runs;
    }

    /** The loss over the first {@code n} rows of {@code hidden}, chunk by chunk (see the class comment). */
    private LossSum chunks(INDArray hidden, int n, INDArray head, int[] targets, double weight, INDArray dHidden) {
        int vocab = (int) head.rows();
        long elements = chunkElements > 0
                ? chunkElements
                : head.dataType() == DataType.BFLOAT16 ? CHUNK_ELEMENTS_BF16 : CHUNK_ELEMENTS_FP32;
        // Sized by hidden's rows, not n: gathered rows vary from batch to batch, the buffers must not.
        int chunk = (int) Math.max(1, Math.min(hidden.rows(), elements / vocab));
        INDArray buffer = scratch.get("logits", chunk, vocab);
        if (packedHead == null || packedHead.source() != head) {
            packedHead = PackedWeight.of(head); // a bf16 head on oneDNN: its forward products read the packed copy
        }
        double sum = 0;
        long count = 0;
        for (int start = 0; start < n; start += chunk) {
            int rows = Math.min(chunk, n - start);
            boolean any = false;
            for (int i = start; i < start + rows; i++) {
                any |= targets[i] >= 0;
            }
            if (!any) {
                if (dHidden != null) {
                    dHidden.get(NDArrayIndex.interval(start, start + rows), NDArrayIndex.all())
                            .assign(0);
                }
                continue;
            }
            int d = (int) hidden.columns();
            INDArray logits = rows == chunk ? buffer : buffer.get(NDArrayIndex.interval(0, rows), NDArrayIndex.all());
            // logits = h head^T, written through BLAS into the chunk buffer: no view copies.
            Blas.Block h = asHead(hidden, start, rows, chunk, d, head, "hidden");
            if (packedHead != null) {
                packedHead.product(h.base(), rows, buffer);
            } else {
                Blas.gemm(
                        false,
                        true,
                        rows,
                        vocab,
                        d,
                        1.0,
                        h,
                        new Blas.Block(head, 0, d),
                        0.0,
                        new Blas.Block(buffer, 0, vocab));
            }
            RowSoftmax.forward(logits); // one fused pass: max, exp, sum, divide
            boolean allScored = true;
            for (int i = 0; i < rows; i++) {
                int t = targets[start + i];
                if (t < 0) {
                    allScored = false;
                    continue;
                }
                double p = logits.getDouble(i, t);
                sum += p > 1e-30 ? -Math.log(p) : exactNll(hidden, start + i, head, t);
                count++;
            }
            if (dHidden != null) {
                // d logits = weight * (softmax - onehot(target)) on scored rows, 0 on the others.
                if (allScored) {
                    logits.muli(weight);
                } else {
                    double[] w = new double[rows];
                    for (int i = 0; i < rows; i++) {
                        w[i] = targets[start + i] >= 0 ? weight : 0;
                    }
                    logits.muliColumnVector(Nd4j.create(w, new long[] {rows, 1}, logits.dataType()));
                }
                for (int i = 0; i < rows; i++) {
                    int t = targets[start + i];
                    if (t >= 0) {
                        logits.putScalar(i, t, logits.getDouble(i, t) - weight);
                    }
                }
                Blas.gemm(
                        false,
                        false,
                        rows,
                        d,
                        vocab,
                        1.0,
                        asHead(buffer, 0, rows, chunk, vocab, head, "dlogits"),
                        new Blas.Block(head, 0, d),
                        0.0,
                        new Blas.Block(dHidden, (long) start * d, d));
            }
        }
        return new LossSum(sum, count);
    }

    /**
     * Rows {@code [start, start + rows)} of a c-order (n x cols) fp32 array as the other operand of a product with
     * {@code head}: the array itself, or for a bf16 head a bf16 copy (rounded to nearest even, as torch's bf16 head
     * sees its input) in the first rows of a buffer of {@code capacity} rows.
     */
    private Blas.Block asHead(INDArray x, int start, int rows, int capacity, int cols, INDArray head, String key) {
        if (head.dataType() != DataType.BFLOAT16) {
            return new Blas.Block(x, (long) start * cols, cols);
        }
        INDArray rounded = scratch.get(key + ".bf16", capacity, cols, DataType.BFLOAT16);
        if (x.ordering() == 'c' && !x.isView()) {
            // the rows straight from x, no copy of them per chunk
            Bf16.round(x, (long) start * cols, rounded, (long) rows * cols);
        } else {
            INDArray part = x.get(NDArrayIndex.interval(start, start + rows), NDArrayIndex.all());
            Bf16.round(part.dup('c'), 0, rounded, (long) rows * cols);
        }
        return new Blas.Block(rounded, 0, cols);
    }

    /**
     * -log p(target) from the row's raw logits, in double: for the rare token whose probability underflows float
     * after the softmax (a logit gap above ~70 nats).
     */
    private static double exactNll(INDArray hidden, int row, INDArray head, int target) {
        INDArray h = hidden.getRow(row, true);
        INDArray z = h.mmul(head.transpose());
        double max = z.maxNumber().doubleValue();
        double s = 0;
        for (long j = 0; j < z.length(); j++) {
            s += Math.exp(z.getDouble(j) - max);
        }
        return Math.log(s) + max - z.getDouble(target);
    }
}
