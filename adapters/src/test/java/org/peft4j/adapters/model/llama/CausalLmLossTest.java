package org.peft4j.adapters.model.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.peft4j.adapters.core.Scratch;
import org.peft4j.adapters.linalg.Bf16;
import org.peft4j.adapters.model.LossSum;

/**
 * The fused loss cut into chunks of rows, against a cross-entropy and its gradient computed in double on the whole
 * logits matrix: chunks of 3 rows over 11 (the last one short), one chunk whose rows are all unscored (skipped, its
 * gradient rows zero), and unscored rows inside a scored chunk.
 */
class CausalLmLossTest {
    private static final int N = 11;
    private static final int D = 24;
    private static final int VOCAB = 53;
    private static final int[] TARGETS = {4, 0, 52, -1, -1, -1, 17, -1, 9, 30, 1};
    private static final double WEIGHT = 1.0 / 7;

    @Test
    void chunkedLossAndGradientMatchTheWholeMatrixInDouble() {
        Nd4j.getRandom().setSeed(11);
        INDArray hidden = Nd4j.randn(DataType.FLOAT, N, D);
        INDArray head = Nd4j.randn(DataType.FLOAT, VOCAB, D).muli(0.5);
        double[] want = new double[1];
        INDArray dWant = reference(hidden.castTo(DataType.DOUBLE), head.castTo(DataType.DOUBLE), want);

        for (boolean gather : new boolean[] {true, false}) {
            boolean before = CausalLmLoss.compactScoredRows(gather);
            try {
                for (long rows : new long[] {1, 3, 4, N, 100}) {
                    String what = "chunks of " + rows + (gather ? ", scored rows gathered" : ", every row");
                    // every row must be written
                    INDArray dHidden = Nd4j.create(DataType.FLOAT, N, D).assign(Double.NaN);
                    LossSum got = new CausalLmLoss(new Scratch(DataType.FLOAT), rows * VOCAB)
                            .compute(hidden, head, TARGETS, WEIGHT, dHidden);
                    assertEquals(7, got.count(), what);
                    assertEquals(want[0], got.sum(), 1e-4, what);
                    assertEquals(
                            0,
                            dWant.sub(dHidden.castTo(DataType.DOUBLE))
                                    .amaxNumber()
                                    .doubleValue(),
                            1e-6,
                            what);
                }
            } finally {
                CausalLmLoss.compactScoredRows(before);
            }
        }
    }

    /**
     * Gathering the scored rows: the bf16 head gives what it gives on every row, the unscored rows' gradient is exactly
     * 0, a batch with nothing scored gives nothing, and masks of any count of scored rows reuse the same buffers.
     */
    @Test
    void gatheredScoredRowsMatchEveryRowAndKeepTheirBuffers() {
        Nd4j.getRandom().setSeed(13);
        INDArray hidden = Nd4j.randn(DataType.FLOAT, N, D);
        INDArray head = Bf16.of(Nd4j.randn(DataType.FLOAT, VOCAB, D).muli(0.5));
        boolean before = CausalLmLoss.compactScoredRows(false);
        INDArray every = Nd4j.create(DataType.FLOAT, N, D);
        LossSum all;
        try {
            all = new CausalLmLoss(new Scratch(DataType.FLOAT), 3L * VOCAB)
                    .compute(hidden, head, TARGETS, WEIGHT, every);
        } finally {
            CausalLmLoss.compactScoredRows(before);
        }
        Scratch scratch = new Scratch(DataType.FLOAT);
        CausalLmLoss loss = new CausalLmLoss(scratch, 3L * VOCAB);
        INDArray dHidden = Nd4j.create(DataType.FLOAT, N, D).assign(Double.NaN);
        LossSum gathered = loss.compute(hidden, head, TARGETS, WEIGHT, dHidden);
        assertEquals(all.count(), gathered.count());
        assertEquals(all.sum(), gathered.sum(), 1e-5 * Math.abs(all.sum()));
        assertEquals(0, every.sub(dHidden).amaxNumber().doubleValue(), 1e-6);
        for (int i = 0; i < N; i++) {
            if (TARGETS[i] < 0) {
                assertEquals(0, dHidden.getRow(i).amaxNumber().doubleValue(), 0.0, "row " + i + " is not scored");
            }
        }

        int[] none = new int[N];
        java.util.Arrays.fill(none, -1);
        dHidden.assign(Double.NaN);
        LossSum nothing = loss.compute(hidden, head, none, WEIGHT, dHidden);
        assertEquals(0, nothing.count());
        assertEquals(0, nothing.sum(), 0.0);
        assertEquals(0, dHidden.amaxNumber().doubleValue(), 0.0);

        long bytes = scratch.bytes();
        for (int scored = 1; scored < N; scored++) {
            int[] some = none.clone();
            for (int i = N - scored; i < N; i++) {
                some[i] = TARGETS[i] >= 0 ? TARGETS[i] : 5;
            }
            assertEquals(
                    scored, loss.compute(hidden, head, some, WEIGHT, dHidden).count());
            assertEquals(bytes, scratch.bytes(), scored + " scored rows: the same buffers, no new ones");
        }
    }

    /** A bf16 head rounds its input per chunk: the chunking changes nothing there either. */
    @Test
    void bf16HeadGivesTheSameResultForEveryChunking() {
        Nd4j.getRandom().setSeed(12);
        INDArray hidden = Nd4j.randn(DataType.FLOAT, N, D);
        INDArray head = Bf16.of(Nd4j.randn(DataType.FLOAT, VOCAB, D).muli(0.5));
        INDArray whole = Nd4j.create(DataType.FLOAT, N, D);
        LossSum all =
                new CausalLmLoss(new Scratch(DataType.FLOAT), N * VOCAB).compute(hidden, head, TARGETS, WEIGHT, whole);
        INDArray dHidden = Nd4j.create(DataType.FLOAT, N, D).assign(Double.NaN);
        LossSum chunked = new CausalLmLoss(new Scratch(DataType.FLOAT), 3L * VOCAB)
                .compute(hidden, head, TARGETS, WEIGHT, dHidden);
        assertEquals(all.count(), chunked.count());
        assertEquals(all.sum(), chunked.sum(), 1e-5);
        assertEquals(0, whole.sub(dHidden).amaxNumber().doubleValue(), 1e-6);
    }

    /** A label outside the vocabulary is refused with its token's own index, masked rows before it or not. */
    @Test
    void aLabelOutsideTheVocabularyIsRefusedWithItsTokenIndex() {
        INDArray hidden = Nd4j.randn(DataType.FLOAT, N, D);
        INDArray head = Nd4j.randn(DataType.FLOAT, VOCAB, D);
        int[] targets = TARGETS.clone();
        targets[8] = VOCAB; // rows 3, 4, 5 and 7 are masked: gathered, it would be the fifth scored row
        var e = org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class,
                () -> new CausalLmLoss(new Scratch(DataType.FLOAT), 3L * VOCAB)
                        .compute(hidden, head, targets, WEIGHT, null));
        assertEquals("label 53 at token 8 is outside the vocabulary of 53", e.getMessage());
    }

    /** Sum of -log softmax(h head^T)[target] over scored rows into {@code loss[0]}; returns d loss / d hidden. */
    private static INDArray reference(INDArray hidden, INDArray head, double[] loss) {
        INDArray logits = hidden.mmul(head.transpose());
        INDArray dLogits = Nd4j.create(DataType.DOUBLE, N, VOCAB);
        for (int i = 0; i < N; i++) {
            if (TARGETS[i] < 0) {
                continue;
            }
            double max = logits.getRow(i).maxNumber().doubleValue();
            double z = 0;
            for (int j = 0; j < VOCAB; j++) {
                z += Math.exp(logits.getDouble(i, j) - max);
            }
            loss[0] += Math.log(z) + max - logits.getDouble(i, TARGETS[i]);
            for (int j = 0; j < VOCAB; j++) {
                double p = Math.exp(logits.getDouble(i, j) - max) / z;
                dLogits.putScalar(i, j, WEIGHT * (p - (j == TARGETS[i] ? 1 : 0)));
            }
        }
        return dLogits.mmul(head);
    }
}
