package org.peft4j.datasets.glue;

import java.util.List;
import java.util.Locale;

/**
 * The eight GLUE tasks' TSV layouts (0-based columns, as distributed by the GLUE benchmark), their label sets in
 * Hugging Face {@code glue} order, their metrics, and the instruction used for generative fine-tuning.
 */
public enum GlueTask {
    SST2(
            new Layout(true, 0, -1, 1),
            List.of("negative", "positive"),
            Metric.ACCURACY,
            new Prompt("Classify the sentiment of the sentence as positive or negative.", "Sentence", null)),
    COLA(
            new Layout(false, 3, -1, 1),
            List.of("unacceptable", "acceptable"),
            Metric.MATTHEWS,
            new Prompt(
                    "Is the sentence grammatically acceptable? Answer acceptable or unacceptable.", "Sentence", null)),
    MRPC(
            new Layout(true, 3, 4, 0),
            List.of("not_equivalent", "equivalent"),
            Metric.F1,
            new Prompt(
                    "Do the two sentences mean the same thing? Answer equivalent or not_equivalent.",
                    "Sentence 1",
                    "Sentence 2")),
    QQP(
            new Layout(true, 3, 4, 5),
            List.of("not_duplicate", "duplicate"),
            Metric.F1,
            new Prompt(
                    "Do the two questions ask the same thing? Answer duplicate or not_duplicate.",
                    "Question 1",
                    "Question 2")),
    STSB(
            new Layout(true, 7, 8, -1),
            List.of(),
            Metric.CORRELATION,
            new Prompt(
                    "Rate how similar the two sentences are in meaning, from 0 (unrelated) to 5 (equivalent).",
                    "Sentence 1",
                    "Sentence 2")),
    MNLI(
            new Layout(true, 8, 9, -1),
            List.of("entailment", "neutral", "contradiction"),
            Metric.ACCURACY,
            new Prompt(
                    "Does the premise entail the hypothesis? Answer entailment, neutral or contradiction.",
                    "Premise",
                    "Hypothesis")),
    QNLI(
            new Layout(true, 1, 2, -1),
            List.of("entailment", "not_entailment"),
            Metric.ACCURACY,
            new Prompt(
                    "Does the sentence answer the question? Answer entailment or not_entailment.",
                    "Question",
                    "Sentence")),
    RTE(
            new Layout(true, 1, 2, -1),
            List.of("entailment", "not_entailment"),
            Metric.ACCURACY,
            new Prompt(
                    "Does the first sentence entail the second? Answer entailment or not_entailment.",
                    "Sentence 1",
                    "Sentence 2"));

    /** Reported metric: accuracy always; F1, Matthews correlation or Pearson/Spearman as GLUE reports them. */
    public enum Metric {
        ACCURACY,
        F1,
        MATTHEWS,
        CORRELATION
    }

    /**
     * Where the fields are in a TSV row (0-based).
     *
     * @param header whether the first row is a header
     * @param pairColumn -1 for single-sentence tasks
     * @param labelColumn -1 means the last column
     */
    public record Layout(boolean header, int textColumn, int pairColumn, int labelColumn) {}

    /**
     * How a record is written as an instruction for generative fine-tuning.
     *
     * @param pairName null for single-sentence tasks
     */
    public record Prompt(String instruction, String textName, String pairName) {}

    private final Layout layout;
    private final List<String> labels;
    private final Metric metric;
    private final Prompt prompt;

    GlueTask(Layout layout, List<String> labels, Metric metric, Prompt prompt) {
        this.layout = layout;
        this.labels = labels;
        this.metric = metric;
        this.prompt = prompt;
    }

    public Layout layout() {
        return layout;
    }

    /** Class names in label-index order; empty for STS-B (regression). */
    public List<String> labels() {
        return labels;
    }

    public Metric metric() {
        return metric;
    }

    public Prompt prompt() {
        return prompt;
    }

    public boolean regression() {
        return labels.isEmpty();
    }

    /** Number of outputs of a sequence head: classes, or 1 for regression. */
    public int numLabels() {
        return regression() ? 1 : labels.size();
    }

    /** The CLI/config name: glue-sst2, glue-mnli, ... */
    public String datasetName() {
        return "glue-" + name().toLowerCase(Locale.ROOT);
    }

    /** By dataset name as configs write it: glue-sst2, glue-mnli, ... */
    public static GlueTask ofDataset(String dataset) {
        if (!dataset.startsWith("glue-")) {
            throw new IllegalArgumentException("not a GLUE dataset: '" + dataset + "' (expected glue-<task>)");
        }
        return parse(dataset.substring("glue-".length()));
    }

    /** By name: sst2, sst-2, SST-2, sts-b, ... */
    public static GlueTask parse(String s) {
        String n = s.toUpperCase(Locale.ROOT).replace("-", "").replace("_", "");
        for (GlueTask t : values()) {
            if (t.name().equals(n)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown GLUE task '" + s + "' (one of "
                + java.util.Arrays.stream(values())
                        .map(v -> v.name().toLowerCase(Locale.ROOT))
                        .toList() + ")");
    }
}
