package org.peft4j.datasets.glue;

import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;

/** GLUE's metrics over (prediction, gold) pairs, as the benchmark reports them. */
public final class GlueMetrics {
    private GlueMetrics() {}

    /** Every metric the task reports, by name (accuracy, f1, matthews_correlation, pearson, spearman). */
    public static Map<String, Double> compute(GlueTask task, double[] predicted, double[] gold) {
        if (predicted.length != gold.length) {
            throw new IllegalArgumentException(predicted.length + " predictions for " + gold.length + " golds");
        }
        Map<String, Double> out = new LinkedHashMap<>();
        if (task.regression()) {
            out.put("pearson", pearson(predicted, gold));
            out.put("spearman", spearman(predicted, gold));
            return out;
        }
        out.put("accuracy", accuracy(predicted, gold));
        if (task.metric() == GlueTask.Metric.F1) {
            out.put("f1", f1(predicted, gold));
        } else if (task.metric() == GlueTask.Metric.MATTHEWS) {
            out.put("matthews_correlation", matthews(predicted, gold));
        }
        return out;
    }

    public static double accuracy(double[] p, double[] g) {
        int ok = 0;
        for (int i = 0; i < p.length; i++) {
            ok += p[i] == g[i] ? 1 : 0;
        }
        return p.length == 0 ? Double.NaN : (double) ok / p.length;
    }

    /** Counts of a binary confusion matrix, label 1 positive. */
    private record Confusion(double tp, double tn, double fp, double fn) {
        static Confusion of(double[] p, double[] g) {
            double[] c = new double[4];
            for (int i = 0; i < p.length; i++) {
                boolean pp = p[i] == 1;
                boolean gp = g[i] == 1;
                c[(pp ? 0 : 1) + (pp == gp ? 0 : 2)]++;
            }
            return new Confusion(c[0], c[1], c[2], c[3]);
        }
    }

    /** F1 of the positive class (label 1). */
    public static double f1(double[] p, double[] g) {
        Confusion c = Confusion.of(p, g);
        return c.tp() == 0 ? 0 : 2.0 * c.tp() / (2.0 * c.tp() + c.fp() + c.fn());
    }

    /** Matthews correlation of binary labels; 0 when a marginal is empty (as scikit-learn returns). */
    public static double matthews(double[] p, double[] g) {
        Confusion c = Confusion.of(p, g);
        double den = Math.sqrt((c.tp() + c.fp()) * (c.tp() + c.fn()) * (c.tn() + c.fp()) * (c.tn() + c.fn()));
        return den == 0 ? 0 : (c.tp() * c.tn() - c.fp() * c.fn()) / den;
    }

    public static double pearson(double[] x, double[] y) {
        double mx = Arrays.stream(x).average().orElse(Double.NaN);
        double my = Arrays.stream(y).average().orElse(Double.NaN);
        double sxy = 0;
        double sxx = 0;
        double syy = 0;
        for (int i = 0; i < x.length; i++) {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxy / Math.sqrt(sxx * syy);
    }

    /** Pearson correlation of the ranks, ties sharing their average rank. */
    public static double spearman(double[] x, double[] y) {
        return pearson(ranks(x), ranks(y));
    }

    static double[] ranks(double[] v) {
        Integer[] idx = new Integer[v.length];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        Arrays.sort(idx, Comparator.comparingDouble(i -> v[i]));
        double[] r = new double[v.length];
        for (int i = 0; i < idx.length; ) {
            int j = i;
            while (j + 1 < idx.length && v[idx[j + 1]] == v[idx[i]]) {
                j++;
            }
            double avg = (i + j) / 2.0 + 1;
            for (int k = i; k <= j; k++) {
                r[idx[k]] = avg;
            }
            i = j + 1;
        }
        return r;
    }

    /**
     * The class a generated text names: the first label word in it, longer names tried first so that
     * "not_entailment" is not read as "entailment"; -1 when none. For STS-B, the first number, clamped to [0, 5].
     */
    public static double fromGenerated(GlueTask task, String text) {
        if (task.regression()) {
            Double v = org.peft4j.datasets.math.MathAnswer.extract(text);
            return v == null ? -1 : Math.max(0, Math.min(5, v));
        }
        String t = text.strip();
        int best = -1;
        int bestAt = Integer.MAX_VALUE;
        for (int c = 0; c < task.labels().size(); c++) {
            String l = task.labels().get(c);
            int at = indexOfWord(t, l);
            if (at >= 0
                    && (at < bestAt
                            || (at == bestAt
                                    && l.length() > task.labels().get(best).length()))) {
                best = c;
                bestAt = at;
            }
        }
        return best;
    }

    /** Index of {@code word} in {@code t} not preceded by a letter or underscore ("not_entailment" has no
     * standalone "entailment"). */
    private static int indexOfWord(String t, String word) {
        int from = 0;
        while (true) {
            int at = t.indexOf(word, from);
            if (at < 0) {
                return -1;
            }
            if (at == 0 || !(Character.isLetter(t.charAt(at - 1)) || t.charAt(at - 1) == '_')) {
                return at;
            }
            from = at + 1;
        }
    }
}
