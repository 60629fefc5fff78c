package org.peft4j.job.metrics;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * Pictures of {@code metrics.jsonl} records (JFreeChart, headless): one run's training loss, learning rate and
 * evaluation metrics against the global step ({@code metrics.png}), or several runs overlaid ({@code report}).
 */
public final class MetricsChart {
    static {
        System.setProperty("java.awt.headless", "true");
    }

    /** Dark, distinct series colours (the default palette's yellows vanish on white). */
    private static final Color[] PALETTE = {
        new Color(0x1f77b4),
        new Color(0xd62728),
        new Color(0x2ca02c),
        new Color(0xff7f0e),
        new Color(0x9467bd),
        new Color(0x8c564b),
        new Color(0xe377c2),
        new Color(0x17becf)
    };

    /** Keys of an evaluation record that are not metrics to plot. */
    private static final Set<String> NOT_METRICS = Set.of("eval_records", "eval_loss", "eval_seconds");

    private MetricsChart() {}

    /** One run: training (and evaluation) loss, learning rate, evaluation metrics; a PNG of width x height. */
    public static byte[] run(String title, List<Map<String, Object>> records, int width, int height)
            throws IOException {
        CombinedDomainXYPlot plot = new CombinedDomainXYPlot(new NumberAxis("global step"));
        XYSeriesCollection loss = new XYSeriesCollection();
        loss.addSeries(series("train loss", records, "loss"));
        XYSeries evalLoss = series("eval loss", records, "eval_loss");
        if (!evalLoss.isEmpty()) {
            loss.addSeries(evalLoss);
        }
        plot.add(subplot("loss", loss, evalLoss.isEmpty() ? Set.of() : Set.of(1), 0), 3);
        XYSeriesCollection lr = new XYSeriesCollection(series("learning rate", records, "lr"));
        plot.add(subplot("learning rate", lr, Set.of(), 2), 1);
        XYSeriesCollection eval = new XYSeriesCollection();
        for (String k : evalMetrics(records)) {
            eval.addSeries(series(k, records, k));
        }
        if (eval.getSeriesCount() > 0) {
            plot.add(subplot("eval", eval, null, 3), 2);
        }
        return png(new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true), width, height);
    }

    /**
     * Several runs overlaid: training loss, and each evaluation metric any of them reports, one series per run.
     *
     * @param runs records by run label
     */
    public static byte[] overlay(Map<String, List<Map<String, Object>>> runs, int width, int height)
            throws IOException {
        CombinedDomainXYPlot plot = new CombinedDomainXYPlot(new NumberAxis("global step"));
        XYSeriesCollection loss = new XYSeriesCollection();
        runs.forEach((label, records) -> loss.addSeries(series(label, records, "loss")));
        plot.add(subplot("train loss", loss, Set.of(), 0), 2);
        Set<String> metrics = new LinkedHashSet<>();
        runs.values().forEach(r -> metrics.addAll(evalMetrics(r)));
        for (String k : metrics) {
            XYSeriesCollection c = new XYSeriesCollection();
            // every run, even one without this metric: a run keeps its colour in every subplot
            runs.forEach((label, records) -> c.addSeries(series(label, records, k)));
            plot.add(subplot(k, c, null, 0), 1);
        }
        return png(new JFreeChart("peft4j runs", JFreeChart.DEFAULT_TITLE_FONT, plot, true), width, height);
    }

    /** The evaluation metrics the records report, in first-seen order. */
    static List<String> evalMetrics(List<Map<String, Object>> records) {
        Set<String> out = new LinkedHashSet<>();
        for (Map<String, Object> r : records) {
            r.forEach((k, v) -> {
                if (k.startsWith("eval_") && !NOT_METRICS.contains(k) && v instanceof Number) {
                    out.add(k);
                }
            });
        }
        return new ArrayList<>(out);
    }

    /** (global_step, key) of every record that has a finite number under key. */
    private static XYSeries series(String name, List<Map<String, Object>> records, String key) {
        XYSeries s = new XYSeries(name, true, true);
        for (Map<String, Object> r : records) {
            if (r.get(key) instanceof Number v
                    && r.get("global_step") instanceof Number x
                    && Double.isFinite(v.doubleValue())) {
                s.addOrUpdate(x.doubleValue(), v.doubleValue());
            }
        }
        return s;
    }

    /**
     * @param shapes the series drawn with a marker at each point (evaluations are sparse), null for all
     * @param firstColour the palette index of the first series (a run keeps its colour across subplots)
     */
    private static XYPlot subplot(String label, XYSeriesCollection data, Set<Integer> shapes, int firstColour) {
        NumberAxis y = new NumberAxis(label);
        y.setAutoRangeIncludesZero(false);
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, false);
        for (int i = 0; i < data.getSeriesCount(); i++) {
            r.setSeriesStroke(i, new BasicStroke(1.5f));
            r.setSeriesPaint(i, PALETTE[(firstColour + i) % PALETTE.length]);
            r.setSeriesShapesVisible(i, shapes == null || shapes.contains(i));
        }
        XYPlot p = new XYPlot(data, null, y, r);
        p.setBackgroundPaint(Color.WHITE);
        p.setDomainGridlinePaint(Color.LIGHT_GRAY);
        p.setRangeGridlinePaint(Color.LIGHT_GRAY);
        return p;
    }

    private static byte[] png(JFreeChart chart, int width, int height) throws IOException {
        chart.setBackgroundPaint(Color.WHITE);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ChartUtils.writeChartAsPNG(out, chart, width, height);
        return out.toByteArray();
    }
}
