package org.peft4j.adapters.model.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.peft4j.adapters.core.Scratch;
import org.peft4j.adapters.linalg.Blas;
import org.peft4j.adapters.linalg.GemmBackend;

/**
 * The bf16 head-major attention on its own (GQA: 4 query heads over 2 key/value heads; T = 7, so the causal halves
 * are 3 and 4 queries; the second sequence padded on the left): forward and backward against a double-precision
 * attention on the same inputs, within what bf16 operands cost; and keeping the probabilities for backward against
 * recomputing them, to the bit.
 */
class HeadMajorAttentionTest {
    private static final int ROWS = 2, LEN = 7, HEADS = 4, KV_HEADS = 2, HEAD_DIM = 8;
    private static final double SCALE = 1.0 / Math.sqrt(HEAD_DIM);

    /**
     * The token rows that see no key: the second sequence's first two, left padding. What they attend to is left
     * undefined (the causal halves spread them over another set of masked keys than one full row would), as it is in
     * transformers, so their outputs are not compared and their dO is 0, as no loss reaches them.
     */
    private static final int[] PADDING = {LEN, LEN + 1};

    private GemmBackend before;

    @BeforeEach
    void useOneDnn() {
        before = Blas.use(Blas.choose("onednn"));
    }

    @AfterEach
    void restore() {
        Blas.use(before);
    }

    @Test
    void forwardAndBackwardMatchDoublePrecisionAttentionWithinBf16Rounding() {
        Inputs in = Inputs.of(7);
        Result got = run(in, HeadMajorAttention.KEEP_BYTES);
        Result want = reference(in);
        // bf16 keeps 8 significant bits: q, k, v, dO, P, dP and dS each rounded once (0.4% each at worst).
        assertClose(withoutPadding(want.out), withoutPadding(got.out), 0.01, "out");
        assertClose(withoutPadding(want.dq), withoutPadding(got.dq), 0.02, "dq");
        assertClose(want.dk, got.dk, 0.02, "dk");
        assertClose(want.dv, got.dv, 0.01, "dv");
    }

    /**
     * An fp32 model's head-major pass: the same products on fp32 operands, within float rounding of attention in
     * double (1e-6 where bf16 operands cost 1e-2), kept probabilities to the bit of recomputed ones.
     */
    @Test
    void fp32OperandsMatchDoublePrecisionAttentionWithinFloatRounding() {
        Inputs in = Inputs.of(7);
        Result got = run(in, HeadMajorAttention.KEEP_BYTES, DataType.FLOAT);
        Result want = reference(in);
        assertTrue(relative(withoutPadding(want.out), withoutPadding(got.out)) < 1e-6, "out");
        assertTrue(relative(withoutPadding(want.dq), withoutPadding(got.dq)) < 1e-6, "dq");
        assertTrue(relative(want.dk, got.dk) < 1e-6, "dk");
        assertTrue(relative(want.dv, got.dv) < 1e-6, "dv");
        Result recomputed = run(in, 0, DataType.FLOAT);
        assertArrayEquals(got.dq.data().asFloat(), recomputed.dq.data().asFloat(), "dq kept and recomputed");
        assertArrayEquals(got.dk.data().asFloat(), recomputed.dk.data().asFloat(), "dk kept and recomputed");
    }

    @Test
    void keptProbabilitiesGiveTheBitsThatRecomputedOnesGive() {
        Inputs in = Inputs.of(11);
        Result kept = run(in, HeadMajorAttention.KEEP_BYTES);
        Result recomputed = run(in, 0);
        assertTrue(kept.layerBytes > 0, "the layer kept its probabilities");
        assertEquals(0, recomputed.layerBytes, "nothing kept under a zero budget");
        assertArrayEquals(kept.out.data().asFloat(), recomputed.out.data().asFloat(), "out");
        assertArrayEquals(kept.dq.data().asFloat(), recomputed.dq.data().asFloat(), "dq");
        assertArrayEquals(kept.dk.data().asFloat(), recomputed.dk.data().asFloat(), "dk");
        assertArrayEquals(kept.dv.data().asFloat(), recomputed.dv.data().asFloat(), "dv");
    }

    @Test
    void theBudgetKeepsTheBenchShapeAndNotLongSequencesOfA7bModel() {
        Scratch s = new Scratch(DataType.FLOAT);
        assertTrue(new HeadMajorAttention(16, 16, 64, 0.125, DataType.BFLOAT16, s, s).keeps(4, 512), "50 MB a layer");
        assertTrue(new HeadMajorAttention(32, 32, 128, 0.09, DataType.BFLOAT16, s, s).keeps(1, 256), "6 MB a layer");
        assertFalse(
                new HeadMajorAttention(32, 32, 128, 0.09, DataType.BFLOAT16, s, s).keeps(1, 2048), "403 MB a layer");
    }

    private record Inputs(INDArray q, INDArray k, INDArray v, INDArray dO, INDArray keyBias) {
        static Inputs of(long seed) {
            SplittableRandom rng = new SplittableRandom(seed);
            INDArray dO = random(rng, ROWS * LEN, HEADS * HEAD_DIM, 1.0);
            for (int row : PADDING) {
                dO.getRow(row).assign(0); // a padding position's output reaches no loss
            }
            return new Inputs(
                    random(rng, ROWS * LEN, HEADS * HEAD_DIM, 2.0),
                    random(rng, ROWS * LEN, KV_HEADS * HEAD_DIM, 2.0),
                    random(rng, ROWS * LEN, KV_HEADS * HEAD_DIM, 1.0),
                    dO,
                    Nd4j.zeros(DataType.FLOAT, ROWS, LEN)
                            .putScalar(1, 0, Pass.MASKED)
                            .putScalar(1, 1, Pass.MASKED));
        }
    }

    private record Result(INDArray out, INDArray dq, INDArray dk, INDArray dv, long layerBytes) {}

    private static Result run(Inputs in, long keepBytes) {
        return run(in, keepBytes, DataType.BFLOAT16);
    }

    private static Result run(Inputs in, long keepBytes, DataType operands) {
        long budget = HeadMajorAttention.keepBytes(keepBytes);
        try {
            Scratch shared = new Scratch(DataType.FLOAT);
            Scratch layer = new Scratch(DataType.FLOAT);
            HeadMajorAttention a = new HeadMajorAttention(HEADS, KV_HEADS, HEAD_DIM, SCALE, operands, shared, layer);
            Pass pass = new Pass(ROWS, LEN, 0, null, in.keyBias, null, true);
            INDArray out = Nd4j.create(DataType.FLOAT, ROWS * LEN, HEADS * HEAD_DIM);
            INDArray dq = Nd4j.create(DataType.FLOAT, ROWS * LEN, HEADS * HEAD_DIM);
            INDArray dk = Nd4j.create(DataType.FLOAT, ROWS * LEN, KV_HEADS * HEAD_DIM);
            INDArray dv = Nd4j.create(DataType.FLOAT, ROWS * LEN, KV_HEADS * HEAD_DIM);
            a.forward(pass, in.q, in.k, in.v, out);
            shared.get("attn.scores.b", (long) HEADS * (LEN - LEN / 2), LEN).assign(Float.NaN); // not read in backward
            a.backward(pass, in.q, in.k, in.v, in.dO, dq, dk, dv);
            return new Result(out, dq, dk, dv, layer.bytes());
        } finally {
            HeadMajorAttention.keepBytes(budget);
        }
    }

    /** Attention in double: P = softmax(scale q k^T + masks), out = P V, and its gradients from dO. */
    private static Result reference(Inputs in) {
        double[][] out = new double[ROWS * LEN][HEADS * HEAD_DIM];
        double[][] dq = new double[ROWS * LEN][HEADS * HEAD_DIM];
        double[][] dk = new double[ROWS * LEN][KV_HEADS * HEAD_DIM];
        double[][] dv = new double[ROWS * LEN][KV_HEADS * HEAD_DIM];
        for (int b = 0; b < ROWS; b++) {
            for (int h = 0; h < HEADS; h++) {
                int g = h / (HEADS / KV_HEADS);
                for (int i = 0; i < LEN; i++) {
                    int qi = b * LEN + i;
                    double[] p = new double[LEN];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < LEN; j++) {
                        double qk = 0;
                        for (int d = 0; d < HEAD_DIM; d++) {
                            qk += in.q.getDouble(qi, h * HEAD_DIM + d) * in.k.getDouble(b * LEN + j, g * HEAD_DIM + d);
                        }
                        // The masks are added in float, as the model adds them: a masked score loses its q.k (the
                        // float spacing at 1e9 is 64), so a row with every key masked is uniform over the keys
                        // masked once, not the softmax of its q.k.
                        float s = (float) (SCALE * qk) + (j > i ? (float) Pass.MASKED : 0f);
                        p[j] = s + (float) in.keyBias.getDouble(b, j);
                        max = Math.max(max, p[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < LEN; j++) {
                        p[j] = Math.exp(p[j] - max);
                        sum += p[j];
                    }
                    double[] dP = new double[LEN];
                    double dot = 0;
                    for (int j = 0; j < LEN; j++) {
                        p[j] /= sum;
                        for (int d = 0; d < HEAD_DIM; d++) {
                            double vj = in.v.getDouble(b * LEN + j, g * HEAD_DIM + d);
                            double dOi = in.dO.getDouble(qi, h * HEAD_DIM + d);
                            out[qi][h * HEAD_DIM + d] += p[j] * vj;
                            dv[b * LEN + j][g * HEAD_DIM + d] += p[j] * dOi;
                            dP[j] += dOi * vj;
                        }
                        dot += p[j] * dP[j];
                    }
                    for (int j = 0; j < LEN; j++) {
                        double dS = p[j] * (dP[j] - dot);
                        for (int d = 0; d < HEAD_DIM; d++) {
                            dq[qi][h * HEAD_DIM + d] += SCALE * dS * in.k.getDouble(b * LEN + j, g * HEAD_DIM + d);
                            dk[b * LEN + j][g * HEAD_DIM + d] += SCALE * dS * in.q.getDouble(qi, h * HEAD_DIM + d);
                        }
                    }
                }
            }
        }
        return new Result(matrix(out), matrix(dq), matrix(dk), matrix(dv), 0);
    }

    private static INDArray withoutPadding(INDArray x) {
        INDArray y = x.dup();
        for (int row : PADDING) {
            y.getRow(row).assign(0);
        }
        return y;
    }

    private static void assertClose(INDArray want, INDArray got, double tol, String what) {
        double rel = relative(want, got);
        assertTrue(rel < tol, what + ": relative difference " + rel);
        assertTrue(rel > 0, what + ": bf16 operands must leave some difference");
    }

    private static double relative(INDArray want, INDArray got) {
        return got.castTo(DataType.DOUBLE).sub(want).norm2Number().doubleValue()
                / want.norm2Number().doubleValue();
    }

    private static INDArray matrix(double[][] x) {
        return Nd4j.createFromArray(x);
    }

    private static INDArray random(SplittableRandom rng, int rows, int cols, double std) {
        float[][] x = new float[rows][cols];
        for (float[] row : x) {
            for (int j = 0; j < cols; j++) {
                row[j] = (float) (std * rng.nextGaussian());
            }
        }
        return Nd4j.createFromArray(x);
    }
}
