package org.peft4j.datasets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.peft4j.datasets.commonsense.CommonsenseTask;
import org.peft4j.datasets.glue.GlueMetrics;
import org.peft4j.datasets.glue.GlueTask;
import org.peft4j.datasets.math.MathAnswer;
import org.peft4j.datasets.record.InstructionRecord;
import org.peft4j.datasets.shard.Mixture;
import org.peft4j.datasets.shard.ShardKey;

class ShardAndScoreTest {

    @Test
    void shardKeysAreStableAcrossRunsAndSeparateFields() {
        InstructionRecord r = new InstructionRecord("q", "", "a", "1", "origin is not part of the key");
        // A literal, computed by a separate Python transcription of FNV-1a + SplitMix64: if it changes, every
        // existing run's shards change.
        assertEquals(ShardKey.of(42, "q", "", "a", "1"), ShardKey.of(r, 42));
        assertEquals(8_960_479_328_213_709_820L, ShardKey.of(r, 42));
        assertFalse(ShardKey.of(1, "ab", "c") == ShardKey.of(1, "a", "bc"));
        assertFalse(ShardKey.of(r, 42) == ShardKey.of(r, 43));
    }

    @Test
    void partitionsAreBalancedWithinFivePercent() {
        for (int n : new int[] {2, 3, 8}) {
            long[] count = new long[n];
            int records = 20_000;
            for (int i = 0; i < records; i++) {
                count[ShardKey.partition(ShardKey.of(7, "record " + i, "", "output " + (i % 13), ""), n)]++;
            }
            for (long c : count) {
                assertTrue(Math.abs(c - (double) records / n) < 0.05 * records / n, n + " partitions: " + c);
            }
        }
    }

    @Test
    void mixtureWeightsSetTheShares() {
        Mixture m = new Mixture(new long[] {10_000, 2_000}, new double[] {1, 1}, 12_000);
        long[] got = new long[2];
        for (int d = 0; d < 2; d++) {
            for (int i = 0; i < (d == 0 ? 10_000 : 2_000); i++) {
                got[d] += m.copies(d, ShardKey.of(3, "d" + d + " r" + i));
            }
        }
        assertEquals(6_000, got[0], 150, "the large dataset is subsampled to half");
        assertEquals(6_000, got[1], 1e-9, "the small one is repeated exactly 3 times");
    }

    @Test
    void commonsenseTakesTheFirstLabelWord() {
        assertEquals("answer3", CommonsenseTask.SIQA.extract("  the correct answer is answer3, not answer1"));
        assertTrue(CommonsenseTask.BOOLQ.correct("The correct answer is false.", "false"));
        assertFalse(CommonsenseTask.BOOLQ.correct("maybe", "true"));
        assertEquals("", CommonsenseTask.PIQA.extract("solution 1"));
        assertTrue(CommonsenseTask.HELLASWAG.correct("ending4", "ending4"));
        assertEquals("option2", CommonsenseTask.WINOGRANDE.extract("option2 then option1"));
        assertEquals(CommonsenseTask.ARC_C, CommonsenseTask.parse("ARC-Challenge"));
        assertEquals(CommonsenseTask.OBQA, CommonsenseTask.parse("obqa"));
    }

    @Test
    void gsm8kNumbersAfterTheAnswerIsElseTheLast() {
        assertEquals(18.0, MathAnswer.extract("So 9 * 2 = 18.\nThe answer is: 18"));
        assertEquals(1234.5, MathAnswer.extract("The answer is 1,234.5."));
        assertEquals(-3.0, MathAnswer.extract("It drops by 3 to -3"));
        assertEquals(72.0, MathAnswer.extract("48 + 24 = 72 clips in total"));
        assertNull(MathAnswer.extract("no numbers here"));
        assertTrue(MathAnswer.correct("The answer is 0.33333", 0.33333));
        assertTrue(MathAnswer.correct("The answer is 2.00001", 2.0));
        assertFalse(MathAnswer.correct("The answer is 2.001", 2.0));
        assertEquals(72.0, MathAnswer.afterHashes("Natalia sold 48/2 = 24 clips.\n#### 72"));
        assertNull(MathAnswer.afterHashes("no marker 72"));
    }

    @Test
    void glueMetricsOnHandMadeCases() {
        double[] gold = {1, 1, 0, 0, 1, 0, 1, 0};
        double[] pred = {1, 0, 0, 1, 1, 0, 1, 0};
        // tp 3, fp 1, fn 1, tn 3
        assertEquals(6.0 / 8, GlueMetrics.accuracy(pred, gold), 1e-12);
        assertEquals(2.0 * 3 / (2 * 3 + 1 + 1), GlueMetrics.f1(pred, gold), 1e-12);
        assertEquals((3.0 * 3 - 1) / Math.sqrt(4.0 * 4 * 4 * 4), GlueMetrics.matthews(pred, gold), 1e-12);
        assertEquals(0.0, GlueMetrics.matthews(new double[] {1, 1}, new double[] {1, 0}), 0.0);
        double[] x = {1, 2, 3, 4, 5};
        double[] y = {2, 4, 5, 4, 5};
        assertEquals(0.7745966692414834, GlueMetrics.pearson(x, y), 1e-12);
        // ranks of y with ties: 1, 2.5, 4.5, 2.5, 4.5; Pearson of the ranks = 7 / sqrt(90)
        assertEquals(7 / Math.sqrt(90), GlueMetrics.spearman(x, y), 1e-12);
        Map<String, Double> mrpc = GlueMetrics.compute(GlueTask.MRPC, pred, gold);
        assertEquals(Map.of("accuracy", 0.75, "f1", 0.75), mrpc);
        assertEquals(2, GlueMetrics.compute(GlueTask.STSB, x, y).size());
        assertEquals(1.0, GlueMetrics.fromGenerated(GlueTask.RTE, "not_entailment"));
        assertEquals(0.0, GlueMetrics.fromGenerated(GlueTask.RTE, " entailment, surely"));
        assertEquals(0.0, GlueMetrics.fromGenerated(GlueTask.COLA, "unacceptable"));
        assertEquals(1.0, GlueMetrics.fromGenerated(GlueTask.COLA, "acceptable"));
        assertEquals(2.0, GlueMetrics.fromGenerated(GlueTask.MNLI, "contradiction"));
        assertEquals(-1.0, GlueMetrics.fromGenerated(GlueTask.SST2, "no idea"));
        assertEquals(5.0, GlueMetrics.fromGenerated(GlueTask.STSB, "about 7"));
    }
}
