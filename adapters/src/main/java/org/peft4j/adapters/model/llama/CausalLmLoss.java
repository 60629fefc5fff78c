package org.peft4j.adapters.model.llama;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.peft4j.adapters.core.Scratch;
import org.peft4j.adapters.linalg.Gemm;
import org.peft4j.adapters.model.LossSum;

/**
 * Next-token cross-entropy with a per-token mask, fused with its gradient. The full (tokens x vocab) logits matrix
 * never exists: rows are processed in chunks of about {@link #CHUNK_ELEMENTS} logits (256 rows for a 32k vocabulary),
 * each chunk's softmax gradient is turned into d hidden at once, and no one-hot matrix is built: the target's logit
 * is read and its gradient written one element per row.
 */
final class CausalLmLoss {
    static final long CHUNK_ELEMENTS = 8L << 20;

    private final Scratch scratch;

    CausalLmLoss(Scratch scratch) {
        this.scratch = scratch;
    }

    /**
     * @param hidden final normed hidden states (n x d)
     * @param head the LM head, (d x vocab), or the tied embedding (vocab x d) when {@code tied}
     * @param targets per row the token to predict, or a negative number for no loss
     * @param weight multiplies every row's gradient (1 / number of scored tokens for a mean)
     * @param dHidden receives d loss / d hidden (n x d) when not null
     */
    LossSum compute(INDArray hidden, INDArray head, boolean tied, int[] targets, double weight, INDArray dHidden) {
        int n = (int) hidden.rows();
        int vocab = (int) (tied ? head.rows() : head.columns());
        int chunk = (int) Math.max(1, Math.min(n, CHUNK_ELEMENTS / vocab));
        INDArray buffer = scratch.get("logits", chunk, vocab);
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
                    dHidden.get(NDArrayIndex.interval(start, start + rows), NDArrayIndex.all()).assign(0);
                }
                continue;
            }
            INDArray h = hidden.get(NDArrayIndex.interval(start, start + rows), NDArrayIndex.all());
            INDArray logits = rows == chunk ? buffer : buffer.get(NDArrayIndex.interval(0, rows), NDArrayIndex.all());
            Gemm.set(logits, h, false, head, tied);
            INDArray max = logits.max(1).reshape(rows, 1);
            logits.subiColumnVector(max);
            double[] target = new double[rows];
            for (int i = 0; i < rows; i++) {
                int t = targets[start + i];
                if (t >= vocab) {
                    throw new IllegalArgumentException("label " + t + " at token " + (start + i)
                            + " is outside the vocabulary of " + vocab);
                }
                target[i] = t >= 0 ? logits.getDouble(i, t) : 0;
            }
            Transforms.exp(logits, false);
            INDArray sums = logits.sum(1).reshape(rows, 1);
            double[] w = new double[rows];
            for (int i = 0; i < rows; i++) {
                if (targets[start + i] >= 0) {
                    sum += Math.log(sums.getDouble(i, 0)) - target[i];
                    count++;
                    w[i] = weight;
                }
            }
            if (dHidden != null) {
                // d logits = weight * (softmax - onehot(target)) on scored rows, 0 elsewhere.
                logits.diviColumnVector(sums).muliColumnVector(
                        org.nd4j.linalg.factory.Nd4j.create(w, new long[] {rows, 1}, logits.dataType()));
                for (int i = 0; i < rows; i++) {
                    int t = targets[start + i];
                    if (t >= 0) {
                        logits.putScalar(i, t, logits.getDouble(i, t) - weight);
                    }
                }
                INDArray dh = dHidden.get(NDArrayIndex.interval(start, start + rows), NDArrayIndex.all());
                Gemm.set(dh, logits, false, head, !tied);
            }
        }
        return new LossSum(sum, count);
    }
}
