package org.peft4j.adapters.model.llama;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.peft4j.adapters.core.AdapterParam;
import org.peft4j.adapters.core.Init;
import org.peft4j.adapters.linalg.Gemm;
import org.peft4j.adapters.linalg.RandomMatrix;
import org.peft4j.adapters.model.LossSum;
import org.peft4j.adapters.model.TokenBatch;

/**
 * A sequence-level head on the last real token, as HF's {@code LlamaForSequenceClassification}: a bias-free linear
 * {@code score} (hidden x labels), trained with the adapters and saved with them (PEFT's {@code modules_to_save}).
 * One label means regression with mean squared error (STS-B); more mean classification with cross-entropy.
 */
public final class SequenceHead {
    public static final String PARAM = "score.weight";

    private final AdapterParam score;
    private INDArray pooled;
    private int[] pooledRows;

    public SequenceHead(AdapterParam score) {
        this.score = score;
    }

    /** A fresh head: normal(0, 0.02) as HF initialises it, drawn from {@code seed}. */
    public static SequenceHead init(int hidden, int labels, long seed, org.nd4j.linalg.api.buffer.DataType type) {
        INDArray w = RandomMatrix.gaussian(type, hidden, labels, Init.forModule(seed, "score"))
                .muli(0.02);
        return new SequenceHead(AdapterParam.trainable(PARAM, w));
    }

    public AdapterParam param() {
        return score;
    }

    public int labels() {
        return score.columns();
    }

    public boolean regression() {
        return labels() == 1;
    }

    /** Logits (rows x labels) of the last real token of each row. */
    public INDArray logits(INDArray hidden, TokenBatch batch) {
        pooledRows = new int[batch.rows()];
        for (int r = 0; r < batch.rows(); r++) {
            pooledRows[r] = r * batch.length() + Math.max(0, batch.rowLength(r) - 1);
        }
        pooled = hidden.getRows(pooledRows);
        INDArray logits = Nd4j.create(hidden.dataType(), batch.rows(), labels());
        return Gemm.set(logits, pooled, false, score.value(), false);
    }

    /**
     * Mean loss over rows; with {@code dHidden} not null, also accumulates the head's gradient and writes
     * d loss / d hidden (zero except at the pooled tokens).
     */
    public LossSum loss(INDArray hidden, TokenBatch batch, INDArray dHidden) {
        return loss(hidden, batch, dHidden, batch.rows());
    }

    /** As {@link #loss(INDArray, TokenBatch, INDArray)}, the gradient that of the mean over {@code rowsInStep} rows. */
    public LossSum loss(INDArray hidden, TokenBatch batch, INDArray dHidden, long rowsInStep) {
        INDArray logits = logits(hidden, batch);
        int rows = batch.rows();
        double[] t = batch.targets();
        INDArray dLogits = Nd4j.zeros(logits.dataType(), rows, labels());
        double sum = 0;
        for (int r = 0; r < rows; r++) {
            if (regression()) {
                double e = logits.getDouble(r, 0) - t[r];
                sum += e * e;
                dLogits.putScalar(r, 0, 2 * e / rowsInStep);
            } else {
                int y = (int) t[r];
                if (y < 0 || y >= labels() || y != t[r]) {
                    throw new IllegalArgumentException(
                            "row " + r + ": class " + t[r] + " is not in 0.." + (labels() - 1));
                }
                INDArray row = logits.getRow(r);
                double max = row.maxNumber().doubleValue();
                double z = 0;
                for (int c = 0; c < labels(); c++) {
                    z += Math.exp(row.getDouble(c) - max);
                }
                sum += Math.log(z) + max - row.getDouble(y);
                for (int c = 0; c < labels(); c++) {
                    double p = Math.exp(row.getDouble(c) - max) / z;
                    dLogits.putScalar(r, c, (p - (c == y ? 1 : 0)) / rowsInStep);
                }
            }
        }
        if (dHidden != null) {
            Gemm.add(score.grad(), pooled, true, dLogits, false, 1.0);
            INDArray dPooled = Nd4j.create(hidden.dataType(), rows, hidden.columns());
            Gemm.set(dPooled, dLogits, false, score.value(), true);
            dHidden.assign(0);
            for (int r = 0; r < rows; r++) {
                dHidden.putRow(pooledRows[r], dPooled.getRow(r));
            }
        }
        return new LossSum(sum, rows);
    }
}
