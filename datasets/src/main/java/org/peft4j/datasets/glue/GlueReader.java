package org.peft4j.datasets.glue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import org.peft4j.datasets.math.MathAnswer;
import org.peft4j.datasets.read.BadRecords;
import org.peft4j.datasets.read.LookAhead;
import org.peft4j.datasets.record.InstructionRecord;

/**
 * Streams a GLUE TSV file (train or dev; the unlabelled test files have no label column to read). Fields are split
 * on tabs only: GLUE files are not quoted, and quotes are part of the text. Numeric labels (SST-2, CoLA, MRPC, QQP)
 * are class indices; textual ones (MNLI, QNLI, RTE) are mapped through the task's label list.
 */
public final class GlueReader extends LookAhead<GlueRecord> implements AutoCloseable {
    private final GlueTask task;
    private final String source;
    private final BufferedReader in;
    private final BadRecords bad;
    private long line;

    public GlueReader(GlueTask task, InputStream raw, String source, BadRecords bad) {
        this.task = task;
        this.source = source;
        this.in = new BufferedReader(new InputStreamReader(raw, StandardCharsets.UTF_8), 1 << 16);
        this.bad = bad;
        if (task.layout().header()) {
            readLine();
        }
    }

    @Override
    protected GlueRecord computeNext() {
        while (true) {
            String l = readLine();
            if (l == null) {
                return null;
            }
            if (line == 1 && l.startsWith("\uFEFF")) {
                l = l.substring(1);
            }
            if (l.isBlank()) {
                continue;
            }
            try {
                GlueRecord r = parse(l);
                bad.accepted();
                return r;
            } catch (BadRecords.BadRecordException e) {
                bad.reject(e.getMessage());
            }
        }
    }

    private GlueRecord parse(String l) {
        String where = source + ": line " + line;
        String[] f = l.split("\t", -1);
        int textsEnd = Math.max(task.layout().textColumn(), task.layout().pairColumn()) + 1;
        int need = task.layout().labelColumn() < 0
                ? textsEnd + 1
                : Math.max(textsEnd, task.layout().labelColumn() + 1);
        if (f.length < need) {
            throw new BadRecords.BadRecordException(where + ": " + task.datasetName() + " needs at least " + need
                    + " tab-separated columns, found " + f.length);
        }
        int labelAt =
                task.layout().labelColumn() < 0 ? f.length - 1 : task.layout().labelColumn();
        String raw = f[labelAt].strip();
        double target;
        String label;
        if (task.regression()) {
            Double v = MathAnswer.parse(raw);
            if (v == null || v < 0 || v > 5) {
                throw new BadRecords.BadRecordException(
                        where + ": column " + labelAt + " (label): expected a score in [0, 5], found '" + raw + "'");
            }
            target = v;
            label = raw;
        } else {
            int idx = task.labels().indexOf(raw);
            if (idx < 0 && raw.matches("\\d+")) {
                idx = Integer.parseInt(raw);
                idx = idx < task.labels().size() ? idx : -1;
            }
            if (idx < 0) {
                throw new BadRecords.BadRecordException(where + ": column " + labelAt + " (label): expected one of "
                        + task.labels() + (task.labels().size() == 2 ? " or 0/1" : "") + ", found '" + raw + "'");
            }
            target = idx;
            label = task.labels().get(idx);
        }
        String pair = task.layout().pairColumn() < 0 ? null : f[task.layout().pairColumn()];
        return new GlueRecord(task, f[task.layout().textColumn()], pair, target, label, where);
    }

    /** The generative (instruction) form: the task's question, the sentence(s) as input, the label as output. */
    public static InstructionRecord toInstruction(GlueRecord r) {
        GlueTask t = r.task();
        String input = r.pair() == null
                ? r.text()
                : t.prompt().textName() + ": " + r.text() + "\n" + t.prompt().pairName() + ": " + r.pair();
        String answer = t.regression() ? MathAnswer.format(Math.round(r.target() * 10) / 10.0) : r.label();
        return new InstructionRecord(t.prompt().instruction(), input, answer, answer, r.origin());
    }

    private String readLine() {
        try {
            String l = in.readLine();
            if (l != null) {
                line++;
            }
            return l;
        } catch (IOException e) {
            throw new UncheckedIOException(source + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
