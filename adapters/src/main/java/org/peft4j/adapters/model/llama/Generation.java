package org.peft4j.adapters.model.llama;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Batched greedy decoding with a KV cache. Prompts are left-padded to a common length, as HF does for decoder-only
 * generation: every row's next token is then the last column. A padded key gets a large negative bias, and a row's
 * positions count only its real tokens ({@code cumsum(mask) - 1}), so a padded row decodes exactly as it would alone.
 */
final class Generation {
    private final LlamaModel model;

    Generation(LlamaModel model) {
        this.model = model;
    }

    /**
     * @param prompts token ids per row (each non-empty)
     * @return per row the generated ids, stopping after (and including) the first of {@code stopIds}
     */
    int[][] greedy(int[][] prompts, int maxNewTokens, java.util.Set<Integer> stopIds) {
        LlamaConfig c = model.config();
        int rows = prompts.length;
        int promptLen = Arrays.stream(prompts).mapToInt(p -> p.length).max().orElse(0);
        if (Arrays.stream(prompts).anyMatch(p -> p.length == 0)) {
            throw new IllegalArgumentException("every prompt needs at least one token");
        }
        int capacity = promptLen + maxNewTokens;
        var type = model.weights().computeType();
        KvCache cache = new KvCache(c, rows, capacity, type);
        int[] ids = new int[rows * promptLen];
        int[] pos = new int[rows * promptLen];
        double[] bias = new double[rows * capacity];
        boolean padded = false;
        int[] next = new int[rows];
        for (int r = 0; r < rows; r++) {
            int pad = promptLen - prompts[r].length;
            padded |= pad > 0;
            for (int t = 0; t < promptLen; t++) {
                ids[r * promptLen + t] = t < pad ? prompts[r][0] : prompts[r][t - pad];
                pos[r * promptLen + t] = Math.max(0, t - pad);
                bias[r * capacity + t] = t < pad ? Pass.MASKED : 0;
            }
            next[r] = prompts[r].length;
        }
        INDArray keyBias = padded ? Nd4j.create(bias, new long[] {rows, capacity}, type) : null;
        int[][] out = new int[rows][];
        int[] produced = new int[rows];
        boolean[] done = new boolean[rows];
        int[][] buf = new int[rows][maxNewTokens];
        int[] step = ids;
        int[] stepPos = pos;
        int past = 0;
        int len = promptLen;
        for (int s = 0; s < maxNewTokens; s++) {
            Rotary.Tables rope = model.rotary().tables(stepPos, rows, len);
            INDArray maskView =
                    keyBias == null ? null : keyBias.get(NDArrayIndex.all(), NDArrayIndex.interval(0, past + len));
            Pass p = new Pass(rows, len, past, rope, maskView, cache, false);
            INDArray h = model.run(step, p);
            int[] last = new int[rows];
            for (int r = 0; r < rows; r++) {
                last[r] = r * len + len - 1;
            }
            INDArray logits = model.logitsOf(h.getRows(last));
            INDArray argmax = Nd4j.argMax(logits, 1);
            int[] chosen = new int[rows];
            boolean allDone = true;
            for (int r = 0; r < rows; r++) {
                chosen[r] = argmax.getInt(r);
                if (!done[r]) {
                    buf[r][produced[r]++] = chosen[r];
                    done[r] = stopIds.contains(chosen[r]);
                }
                allDone &= done[r];
            }
            if (allDone) {
                break;
            }
            past += len;
            len = 1;
            step = chosen;
            stepPos = new int[rows];
            for (int r = 0; r < rows; r++) {
                stepPos[r] = next[r]++;
            }
        }
        for (int r = 0; r < rows; r++) {
            out[r] = Arrays.copyOf(buf[r], produced[r]);
        }
        return out;
    }

    /**
     * Beam search for one prompt ({@link BeamSearch}, as transformers' generate with num_beams > 1): the prompt is
     * run once and its keys and values copied to every beam; each step runs the beams' last tokens through the KV
     * cache, which is reordered as beams are kept.
     */
    int[] beam(int[] prompt, int numBeams, int maxNewTokens, java.util.Set<Integer> stopIds) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("every prompt needs at least one token");
        }
        LlamaConfig c = model.config();
        int promptLen = prompt.length;
        KvCache cache = new KvCache(
                c, numBeams, promptLen + maxNewTokens, model.weights().computeType());
        int[] pos = new int[promptLen];
        for (int t = 0; t < promptLen; t++) {
            pos[t] = t;
        }
        Pass first = new Pass(1, promptLen, 0, model.rotary().tables(pos, 1, promptLen), null, cache, false);
        INDArray h = model.run(prompt, first);
        double[][] firstLogProbs = logSoftmax(model.logitsOf(h.getRows(promptLen - 1)));
        cache.reorder(new int[numBeams]); // every beam starts from the prompt in block 0
        int[] past = {promptLen};
        BeamSearch.Step step = new BeamSearch.Step() {
            @Override
            public double[][] next(int[] lastTokens) {
                int[] p = new int[numBeams];
                Arrays.fill(p, past[0]);
                Pass pass = new Pass(numBeams, 1, past[0], model.rotary().tables(p, numBeams, 1), null, cache, false);
                INDArray out = model.run(lastTokens, pass);
                past[0]++;
                return logSoftmax(model.logitsOf(out));
            }

            @Override
            public void reorder(int[] sourceBeams) {
                cache.reorder(sourceBeams);
            }
        };
        return BeamSearch.run(firstLogProbs[0], numBeams, maxNewTokens, stopIds, 1.0, step);
    }

    /** Row-wise log-softmax of float logits, in double. */
    private static double[][] logSoftmax(INDArray logits) {
        double[][] out = new double[(int) logits.rows()][];
        for (int r = 0; r < out.length; r++) {
            double[] row = logits.getRow(r).toDoubleVector();
            double max = Arrays.stream(row).max().orElse(0);
            double z = 0;
            for (double v : row) {
                z += Math.exp(v - max);
            }
            double log = max + Math.log(z);
            for (int i = 0; i < row.length; i++) {
                row[i] -= log;
            }
            out[r] = row;
        }
        return out;
    }
}
