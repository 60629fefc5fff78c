package org.peft4j.adapters.lamdapp;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * LaMDA++'s static rank allocation (arXiv 2406.12832, section 3.3). The paper's exact formula is not public, so this
 * is the documented rule from METHODS.md: with uniform rank r = budget / L, each module's score is its normalised
 * energy E_l(r); its rank is budget * E_l(r) / sum E, rounded and clamped to [r_min, min(r_max, min(d_in, d_out))];
 * the remainder is handed out one rank at a time, highest score first (or taken back lowest score first), ties
 * broken by module order. Deterministic: the same spectra give the same ranks.
 */
public final class EnergyRankAllocator implements RankAllocator {
    private final int rMin;
    private final int rMax;

    public EnergyRankAllocator(int rMin, int rMax) {
        this.rMin = rMin;
        this.rMax = rMax;
    }

    @Override
    public Map<String, Integer> allocate(List<ModuleSpectrum> modules, int budget) {
        int n = modules.size();
        if (n == 0) {
            return Map.of();
        }
        int uniform = Math.max(1, budget / n);
        double[] score = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            score[i] = modules.get(i).energy(uniform);
            sum += score[i];
        }
        int[] rank = new int[n];
        int total = 0;
        for (int i = 0; i < n; i++) {
            double raw = sum == 0 ? uniform : budget * score[i] / sum;
            rank[i] = clamp((int) Math.round(raw), i, modules);
            total += rank[i];
        }
        List<Integer> byScore = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byScore.add(i);
        }
        byScore.sort(Comparator.comparingDouble((Integer i) -> -score[i]).thenComparingInt(i -> i));
        total = spread(rank, total, budget, byScore, modules, +1);
        List<Integer> byScoreAscending = new ArrayList<>(byScore);
        java.util.Collections.reverse(byScoreAscending);
        spread(rank, total, budget, byScoreAscending, modules, -1);
        Map<String, Integer> out = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            out.put(modules.get(i).path(), rank[i]);
        }
        return out;
    }

    /** Moves the total towards the budget one rank at a time in the given order, within each module's bounds. */
    private int spread(int[] rank, int total, int budget, List<Integer> order, List<ModuleSpectrum> modules, int sign) {
        boolean moved = true;
        while (sign * (budget - total) > 0 && moved) {
            moved = false;
            for (int i : order) {
                if (sign * (budget - total) <= 0) {
                    break;
                }
                int next = rank[i] + sign;
                if (next == clamp(next, i, modules)) {
                    rank[i] = next;
                    total += sign;
                    moved = true;
                }
            }
        }
        return total;
    }

    private int clamp(int r, int i, List<ModuleSpectrum> modules) {
        int hi = Math.min(rMax, modules.get(i).maxRank());
        return Math.max(Math.min(rMin, hi), Math.min(r, hi));
    }
}
