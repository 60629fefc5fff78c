package org.peft4j.datasets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.peft4j.datasets.batch.Batcher;
import org.peft4j.datasets.batch.ExampleTokenizer;
import org.peft4j.datasets.batch.PaddedBatch;
import org.peft4j.datasets.batch.TokenizedExample;
import org.peft4j.datasets.glue.GlueRecord;
import org.peft4j.datasets.glue.GlueTask;
import org.peft4j.datasets.prompt.PromptTemplate;
import org.peft4j.datasets.record.InstructionRecord;
import org.peft4j.datasets.tokenize.ByteTokenizer;

class PromptsAndBatchesTest {
    static final InstructionRecord WITH_INPUT = new InstructionRecord("Add the numbers.", "2 and 3", "5", "5", "t");
    static final InstructionRecord NO_INPUT =
            new InstructionRecord("Is ice cold? {input}", "", "the correct answer is" + " true", "true", "t");

    @Test
    void alpacaTemplateByteForByte() {
        assertEquals(
                "Below is an instruction that describes a task, paired with an input that provides further"
                        + " context. Write a response that appropriately completes the request.\n\n### Instruction:\n"
                        + "Add the numbers.\n\n### Input:\n2 and 3\n\n### Response:\n",
                PromptTemplate.ALPACA.prompt(WITH_INPUT));
        assertEquals(
                "Below is an instruction that describes a task. Write a response that appropriately completes"
                        + " the request.\n\n### Instruction:\nIs ice cold? {input}\n\n### Response:\nthe correct answer is true",
                PromptTemplate.ALPACA.full(NO_INPUT),
                "no Input section; placeholders inside records stay as written");
    }

    @Test
    void verbatimLlmAdaptersTemplateKeepsItsIndentationAndNoqaText() {
        String indent = " ".repeat(16);
        assertEquals(
                "Below is an instruction that describes a task. Write a response that appropriately completes"
                        + " the request.  # noqa: E501\n\n" + indent + "### Instruction:\n" + indent
                        + "Is ice cold? {input}\n"
                        + indent + "\n" + indent + "### Response:\n" + indent + "the correct answer is true",
                PromptTemplate.LLM_ADAPTERS_VERBATIM.full(NO_INPUT));
    }

    @Test
    void tokenizedExamplesMaskThePromptAndEndWithEos() {
        ByteTokenizer tok = new ByteTokenizer();
        ExampleTokenizer et = new ExampleTokenizer(tok, PromptTemplate.ALPACA, 4096);
        TokenizedExample e = et.causal(WITH_INPUT);
        byte[] prompt = PromptTemplate.ALPACA.prompt(WITH_INPUT).getBytes(StandardCharsets.UTF_8);
        assertEquals(1 + prompt.length + 1 + 1, e.length(), "BOS + prompt bytes + '5' + EOS");
        assertEquals(ByteTokenizer.BOS, e.ids()[0]);
        assertEquals(ByteTokenizer.EOS, e.ids()[e.length() - 1]);
        for (int i = 0; i < e.length(); i++) {
            int expected = i < 1 + prompt.length ? TokenizedExample.IGNORE : e.ids()[i];
            assertEquals(expected, e.labels()[i], "label " + i);
        }
        assertEquals(ByteTokenizer.OFFSET + '5', e.labels()[e.length() - 2]);

        ExampleTokenizer shortMax = new ExampleTokenizer(tok, PromptTemplate.ALPACA, 150);
        TokenizedExample cut = shortMax.causal(WITH_INPUT);
        assertEquals(150, cut.length());
        assertTrue(cut.truncated());
        assertTrue(Arrays.stream(cut.labels()).allMatch(l -> l == TokenizedExample.IGNORE), "only prompt survived");
        shortMax.causal(new InstructionRecord("x", "", "y", "y", "t"));
        assertEquals(2, shortMax.examples());
        assertEquals(1, shortMax.truncated());

        // train_on_inputs: the same ids, every label scored (as finetune.py's labels = input_ids).
        TokenizedExample all = new ExampleTokenizer(tok, PromptTemplate.ALPACA, 4096, true).causal(WITH_INPUT);
        assertArrayEquals(e.ids(), all.ids());
        assertArrayEquals(all.ids(), all.labels());
        TokenizedExample cutAll = new ExampleTokenizer(tok, PromptTemplate.ALPACA, 150, true).causal(WITH_INPUT);
        assertArrayEquals(cutAll.ids(), cutAll.labels(), "a cut prompt still trains");

        TokenizedExample pair = et.sequence(new GlueRecord(GlueTask.RTE, "ab", "c", 1, "not_entailment", "t"));
        assertArrayEquals(new int[] {1, 3 + 'a', 3 + 'b', 2, 3 + 'c'}, pair.ids());
        assertEquals(1.0, pair.target());
    }

    @Test
    void batchesPadByLengthAndAreDeterministicForASeed() {
        ByteTokenizer tok = new ByteTokenizer();
        List<TokenizedExample> examples = commonsenseExamples(tok);
        List<PaddedBatch> a = Batcher.batches(examples, 4, 8, tok.padId(), 7, true);
        List<PaddedBatch> b = Batcher.batches(examples, 4, 8, tok.padId(), 7, true);
        List<PaddedBatch> c = Batcher.batches(examples, 4, 8, tok.padId(), 8, true);
        assertEquals(8, a.size(), "31 examples in batches of 4");
        for (int i = 0; i < a.size(); i++) {
            assertArrayEquals(a.get(i).inputIds(), b.get(i).inputIds());
        }
        assertTrue(!Arrays.equals(a.get(0).inputIds(), c.get(0).inputIds()), "another seed, another order");
        // Every example exactly once, right-padded, labels IGNORE on padding, length a multiple of 8.
        Map<String, Integer> seen = new HashMap<>();
        long realTokens = 0;
        for (PaddedBatch p : a) {
            assertEquals(0, p.length() % 8);
            for (int r = 0; r < p.rows(); r++) {
                int n = 0;
                while (n < p.length() && p.attentionMask()[r * p.length() + n] == 1) {
                    n++;
                }
                for (int t = n; t < p.length(); t++) {
                    assertEquals(0, p.attentionMask()[r * p.length() + t]);
                    assertEquals(TokenizedExample.IGNORE, p.labels()[r * p.length() + t]);
                    assertEquals(tok.padId(), p.inputIds()[r * p.length() + t]);
                }
                seen.merge(
                        Arrays.toString(Arrays.copyOfRange(p.inputIds(), r * p.length(), r * p.length() + n)),
                        1,
                        Integer::sum);
                realTokens += n;
            }
        }
        assertEquals(examples.stream().mapToLong(TokenizedExample::length).sum(), realTokens);
        assertEquals(
                examples.size(),
                seen.values().stream().mapToInt(Integer::intValue).sum());
        // Length grouping: padding overhead is far below what random batching of these lengths would give.
        long padded = a.stream().mapToLong(p -> (long) p.rows() * p.length()).sum();
        assertTrue(padded < 1.35 * realTokens, padded + " padded for " + realTokens + " real tokens");
    }

    @Test
    void withoutLengthGroupingBatchesAreTheSeedsShuffleCutInOrder() {
        ByteTokenizer tok = new ByteTokenizer();
        List<TokenizedExample> examples = commonsenseExamples(tok);
        List<PaddedBatch> plain = Batcher.batches(examples, 4, 8, tok.padId(), 7, false);
        List<TokenizedExample> shuffled = new ArrayList<>(examples);
        java.util.Collections.shuffle(shuffled, new java.util.Random(7));
        assertEquals(8, plain.size(), "31 examples in batches of 4");
        int k = 0;
        for (PaddedBatch p : plain) {
            for (int r = 0; r < p.rows(); r++, k++) {
                int[] want = shuffled.get(k).ids();
                assertArrayEquals(want, Arrays.copyOfRange(p.inputIds(), r * p.length(), r * p.length() + want.length));
            }
        }
        assertEquals(examples.size(), k, "every example exactly once");
        long paddedPlain =
                plain.stream().mapToLong(p -> (long) p.rows() * p.length()).sum();
        long paddedGrouped = Batcher.batches(examples, 4, 8, tok.padId(), 7, true).stream()
                .mapToLong(p -> (long) p.rows() * p.length())
                .sum();
        assertTrue(paddedPlain > paddedGrouped, paddedPlain + " padded without grouping, " + paddedGrouped + " with");
    }

    /** The commonsense fixture's records as causal examples, less the one very long record (it would pad its batch). */
    private static List<TokenizedExample> commonsenseExamples(ByteTokenizer tok) {
        ExampleTokenizer et = new ExampleTokenizer(tok, PromptTemplate.ALPACA, 1 << 16);
        List<TokenizedExample> examples = new ArrayList<>();
        for (InstructionRecord r : Fixtures.read("commonsense", "commonsense_170k.json")) {
            if (r.instruction().length() < 2000) {
                examples.add(et.causal(r));
            }
        }
        return examples;
    }
}
