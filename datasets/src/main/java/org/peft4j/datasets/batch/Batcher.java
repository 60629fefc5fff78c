package org.peft4j.datasets.batch;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

/**
 * Cuts examples into padded batches, deterministically for a seed. As HF Trainer's default sampler: shuffle, then
 * consecutive batches. Grouped by length (HF's {@code group_by_length}, its length-grouped sampler): shuffle, cut into
 * windows of {@value #WINDOW_BATCHES} batches, sort each window by length, cut it into batches, shuffle the batch
 * order. Padding goes to the longest row, rounded up to {@code padMultiple} (8 as LLM-Adapters' collator does; 1 for
 * none).
 */
public final class Batcher {
    static final int WINDOW_BATCHES = 50;

    private Batcher() {}

    public static List<PaddedBatch> batches(
            List<TokenizedExample> examples, int rows, int padMultiple, int padId, long seed, boolean groupByLength) {
        if (rows < 1 || padMultiple < 1) {
            throw new IllegalArgumentException(
                    "batch rows and pad multiple must be positive, found " + rows + ", " + padMultiple);
        }
        Random rng = new Random(seed);
        List<TokenizedExample> order = new ArrayList<>(examples);
        Collections.shuffle(order, rng);
        List<List<TokenizedExample>> groups = new ArrayList<>();
        int window = groupByLength ? rows * WINDOW_BATCHES : order.size();
        for (int w = 0; w < order.size(); w += window) {
            List<TokenizedExample> win = new ArrayList<>(order.subList(w, Math.min(order.size(), w + window)));
            if (groupByLength) {
                win.sort(Comparator.comparingInt(TokenizedExample::length));
            }
            for (int b = 0; b < win.size(); b += rows) {
                groups.add(win.subList(b, Math.min(win.size(), b + rows)));
            }
        }
        if (groupByLength) {
            Collections.shuffle(groups, rng);
        }
        List<PaddedBatch> out = new ArrayList<>(groups.size());
        for (List<TokenizedExample> g : groups) {
            out.add(pad(g, padMultiple, padId));
        }
        return out;
    }

    public static PaddedBatch pad(List<TokenizedExample> rows, int padMultiple, int padId) {
        int longest = rows.stream().mapToInt(TokenizedExample::length).max().orElse(1);
        int len = (longest + padMultiple - 1) / padMultiple * padMultiple;
        int n = rows.size();
        int[] ids = new int[n * len];
        int[] mask = new int[n * len];
        boolean causal = rows.get(0).labels() != null;
        int[] labels = causal ? new int[n * len] : null;
        double[] targets = causal ? null : new double[n];
        Arrays.fill(ids, padId);
        if (causal) {
            Arrays.fill(labels, TokenizedExample.IGNORE);
        }
        for (int r = 0; r < n; r++) {
            TokenizedExample e = rows.get(r);
            System.arraycopy(e.ids(), 0, ids, r * len, e.length());
            Arrays.fill(mask, r * len, r * len + e.length(), 1);
            if (causal) {
                System.arraycopy(e.labels(), 0, labels, r * len, e.length());
            } else {
                targets[r] = e.target();
            }
        }
        return new PaddedBatch(n, len, ids, mask, labels, targets);
    }
}
