package org.peft4j.datasets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.peft4j.datasets.glue.GlueReader;
import org.peft4j.datasets.glue.GlueRecord;
import org.peft4j.datasets.glue.GlueTask;
import org.peft4j.datasets.read.BadRecords;
import org.peft4j.datasets.record.InstructionRecord;

class ReadersTest {

    @Test
    void commonsenseArrayWithCrlfUnicodeEmptyInputAndALongRecord() {
        List<InstructionRecord> rs = Fixtures.read("commonsense", "commonsense_170k.json");
        assertEquals(32, rs.size());
        InstructionRecord first = rs.get(0);
        assertTrue(first.instruction().startsWith("Please answer the following question with true or false"));
        assertEquals("", first.input());
        assertEquals("the correct answer is " + first.answer(), first.output());
        assertTrue(
                rs.stream()
                        .anyMatch(r -> r.instruction().contains("数学")
                                || r.instruction().contains("😀")),
                "unicode kept");
        assertEquals("Context: ", rs.get(30).input().substring(0, 9));
        String longOne = rs.get(31).instruction();
        assertEquals(47_553, longOne.codePointCount(0, longOne.length()), "the long record is read whole");
        assertTrue(first.origin().endsWith("commonsense_170k.json: record 1 (line 2)"), first.origin());
    }

    @Test
    void metaMathAndGsm8kCarryTheirNumbers() {
        List<InstructionRecord> meta = Fixtures.read("metamath", "metamathqa.json");
        assertEquals(25, meta.size());
        assertEquals("1234.5", meta.get(24).answer());
        assertTrue(meta.get(0).output().endsWith("The answer is: " + meta.get(0).answer()));
        List<InstructionRecord> gsm = Fixtures.read("gsm8k", "gsm8k_test.jsonl");
        assertEquals(24, gsm.size());
        String gold = gsm.get(3).output();
        assertEquals(gold.substring(gold.indexOf("####") + 5), gsm.get(3).answer());
        assertTrue(gsm.get(3).origin().endsWith("record 4 (line 4)"));
    }

    @Test
    void everyGlueLayoutReads() throws IOException {
        String[][] files = {
            {"sst2", "SST-2/train.tsv"},
            {"cola", "CoLA/train.tsv"},
            {"mrpc", "MRPC/train.tsv"},
            {"qqp", "QQP/train.tsv"},
            {"stsb", "STS-B/train.tsv"},
            {"mnli", "MNLI/dev_matched.tsv"},
            {"qnli", "QNLI/train.tsv"},
            {"rte", "RTE/train.tsv"}
        };
        for (String[] f : files) {
            GlueTask task = GlueTask.parse(f[0]);
            List<GlueRecord> rs = glue(task, f[1]);
            assertEquals(20, rs.size(), f[1]);
            for (GlueRecord r : rs) {
                assertTrue(!r.text().isBlank(), f[1]);
                assertEquals(task.layout().pairColumn() >= 0, r.pair() != null, f[1]);
                if (task.regression()) {
                    assertTrue(r.target() >= 0 && r.target() <= 5);
                } else {
                    assertEquals(task.labels().get((int) r.target()), r.label());
                }
            }
        }
        // Spot checks against the raw lines.
        List<GlueRecord> mrpc = glue(GlueTask.MRPC, "MRPC/train.tsv");
        String line1 = Files.readAllLines(Fixtures.path("glue/MRPC/train.tsv")).get(1);
        String[] cols = line1.split("\t");
        assertEquals(cols[3], mrpc.get(0).text());
        assertEquals(cols[4], mrpc.get(0).pair(), "quotes are part of the text, and CRLF is gone");
        assertEquals(Double.parseDouble(cols[0]), mrpc.get(0).target());
        List<GlueRecord> mnli = glue(GlueTask.MNLI, "MNLI/dev_matched.tsv");
        String[] m = Files.readAllLines(Fixtures.path("glue/MNLI/dev_matched.tsv"))
                .get(1)
                .split("\t");
        assertEquals(m[8], mnli.get(0).text());
        assertEquals(m[9], mnli.get(0).pair());
        assertEquals(List.of("entailment", "neutral", "contradiction").indexOf(m[11]), (int)
                mnli.get(0).target());
        String[] c =
                Files.readAllLines(Fixtures.path("glue/CoLA/train.tsv")).get(0).split("\t");
        GlueRecord cola0 = glue(GlueTask.COLA, "CoLA/train.tsv").get(0);
        assertEquals(c[3], cola0.text(), "CoLA has no header: the first line is a record");
        assertNull(cola0.pair());
    }

    @Test
    void glueInstructionFormNamesTheTaskAndLabel() {
        InstructionRecord r = GlueReader.toInstruction(
                new GlueRecord(GlueTask.RTE, "A man sleeps.", "A man rests.", 0, "entailment", "x"));
        assertEquals(GlueTask.RTE.prompt().instruction(), r.instruction());
        assertEquals("Sentence 1: A man sleeps.\nSentence 2: A man rests.", r.input());
        assertEquals("entailment", r.output());
        InstructionRecord s = GlueReader.toInstruction(new GlueRecord(GlueTask.STSB, "a", "b", 3.84, "3.840", "x"));
        assertEquals("3.8", s.output());
    }

    @Test
    void aMissingFieldFailsWithFileRecordLineAndField() {
        String json = "[\n  {\"instruction\": \"a\", \"output\": \"b\", \"answer\": \"true\"},\n"
                + "  {\"instruction\": \"c\", \"input\": \"\", \"answer\": \"false\"}\n]";
        var e = assertThrows(
                BadRecords.BadRecordException.class,
                () -> readAll("commonsense", json, "cs.json", BadRecords.failing()));
        assertEquals("cs.json: record 2 (line 3): field 'output' is missing", e.getMessage());
        var wrongType = assertThrows(
                BadRecords.BadRecordException.class,
                () -> readAll("gsm8k", "{\"question\": \"q\", \"answer\": 18}\n", "g.jsonl", BadRecords.failing()));
        assertEquals(
                "g.jsonl: record 1 (line 1): field 'answer' must be a string, found number", wrongType.getMessage());
    }

    @Test
    void skipCountsAndReportsBadRecordsInsteadOfDroppingThemSilently() {
        String jsonl = "{\"question\": \"q1\", \"answer\": \"x #### 3\"}\r\n{not json}\r\n"
                + "{\"question\": \"q3\", \"answer\": \"no marker\"}\r\n\r\n{\"question\": \"q4\", \"answer\": \"#### 4\"}";
        BadRecords bad = new BadRecords(BadRecords.Policy.SKIP);
        List<InstructionRecord> rs = readAll("gsm8k", jsonl, "g.jsonl", bad);
        assertEquals(
                List.of("3", "4"), rs.stream().map(InstructionRecord::answer).toList());
        assertEquals(2, bad.read());
        assertEquals(2, bad.skipped());
        assertTrue(
                bad.messages().get(0).startsWith("g.jsonl: record 2 (line 2): malformed JSON"),
                bad.messages().get(0));
        assertEquals(
                "g.jsonl: record 3 (line 3): field 'answer' has no number after '####'",
                bad.messages().get(1));
        assertTrue(bad.summary().startsWith("2 records read, 2 skipped"));
    }

    @Test
    void malformedJsonInsideAnArrayEndsTheFileWithItsLine() {
        String json =
                "[\n{\"instruction\": \"a\", \"input\": \"\", \"output\": \"b\", \"answer\": \"true\"},\n{\"instruction\": ]";
        var e = assertThrows(
                IllegalArgumentException.class,
                () -> readAll("commonsense", json, "cs.json", new BadRecords(BadRecords.Policy.SKIP)));
        assertTrue(e.getMessage().startsWith("cs.json: line 3, column"), e.getMessage());
    }

    @Test
    void aBadGlueLabelNamesLineAndColumn() {
        String tsv = "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n1\tc\td\tmaybe\n";
        BadRecords bad = BadRecords.failing();
        var e = assertThrows(BadRecords.BadRecordException.class, () -> {
            try (GlueReader r = new GlueReader(GlueTask.RTE, Fixtures.stream(tsv), "rte.tsv", bad)) {
                r.forEachRemaining(x -> {});
            }
        });
        assertEquals(
                "rte.tsv: line 3: column 3 (label): expected one of [entailment, not_entailment] or 0/1,"
                        + " found 'maybe'",
                e.getMessage());
        var shortRow = assertThrows(BadRecords.BadRecordException.class, () -> {
            try (GlueReader r = new GlueReader(GlueTask.MNLI, Fixtures.stream("h\n1\t2\t3\n"), "m.tsv", bad)) {
                r.forEachRemaining(x -> {});
            }
        });
        assertEquals(
                "m.tsv: line 2: glue-mnli needs at least 11 tab-separated columns, found 3", shortRow.getMessage());
    }

    static List<InstructionRecord> readAll(String dataset, String text, String source, BadRecords bad) {
        List<InstructionRecord> out = new ArrayList<>();
        try (InputStream in = Fixtures.stream(text);
                Datasets.RecordStream s = Datasets.instructions(dataset, in, source, bad)) {
            s.forEachRemaining(out::add);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out;
    }

    static List<GlueRecord> glue(GlueTask task, String file) throws IOException {
        List<GlueRecord> out = new ArrayList<>();
        try (GlueReader r =
                new GlueReader(task, Files.newInputStream(Fixtures.path("glue/" + file)), file, BadRecords.failing())) {
            r.forEachRemaining(out::add);
        }
        return out;
    }
}
