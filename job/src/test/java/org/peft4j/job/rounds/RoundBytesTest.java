package org.peft4j.job.rounds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.peft4j.adapters.core.AdapterParam;
import org.peft4j.datasets.batch.TokenizedExample;
import org.peft4j.job.config.JobConfig;
import org.peft4j.job.state.AdapterState;
import org.peft4j.job.state.StateSlice;
import org.peft4j.job.testing.AdapterStates;
import org.peft4j.job.worker.RunSpec;
import org.peft4j.job.worker.Worker;

/**
 * Bytes per round are what can change: LaMDA's B stops travelling once frozen (a row that froze travels once more),
 * and a worker new to the run catches up from the settled parts to exactly the state of one that never left.
 */
class RoundBytesTest extends LocalRounds {
    static java.nio.file.Path data;

    @BeforeAll
    static void writeData() throws Exception {
        data = comparisons("bytes.json", 16, i -> i % 10, i -> (i * 7 + 3) % 10);
    }

    static JobConfig config(String output, String... sets) throws Exception {
        List<String> all = new ArrayList<>(List.of(
                "run.output=" + tmp.resolve(output),
                "data.train=[{dataset = commonsense, path = \"" + data + "\"}]",
                "data.eval.path=null",
                "data.max_length=256",
                "data.batch_rows=4",
                "adapter.method=lamda",
                "adapter.rank=4",
                "adapter.options={freeze = paper, freeze_fraction = 0.3}",
                "train.rounds=6",
                "train.local_steps=2",
                "train.lr=0.01",
                "spark.executors=2",
                "checkpoint.every=0"));
        all.addAll(List.of(sets));
        return org.peft4j.job.config.ConfigLoader.load(null, all);
    }

    /** Bytes a slice of these rows costs: 4 per value, 13 per entry. */
    record Rows(long values, long entries) {
        long bytes() {
            return 4 * values + 13 * entries;
        }
    }

    @Test
    void laMdaSendsOnlyWhatCanChangeAndAFrozenRowOnceMore() throws Exception {
        JobConfig c = config("bytes");
        RoundLoop.Outcome o = run(c);
        Worker w = Worker.build(RunSpec.fresh(c));
        w.adapters().setTotalSteps(c.train().totalSteps());
        List<AdapterParam> params = List.copyOf(w.adapters().params().values());
        int[] sent = new int[params.size()];
        boolean frozenByEnd = false;
        for (int r = 0; r < c.train().rounds(); r++) {
            long step = (long) r * c.train().localSteps();
            w.adapters().onStep(step);
            // What round r may send: rows frozen since the last broadcast (once), the rows that still train and,
            // from round 1 on (round 0 has no moments yet), their two AdamW moments.
            long settledValues = 0, settledEntries = 0, liveValues = 0, liveEntries = 0, trainable = 0;
            for (int i = 0; i < params.size(); i++) {
                AdapterParam p = params.get(i);
                if (p.alwaysFrozen()) {
                    continue;
                }
                int f = p.frozenRows();
                if (f > sent[i]) {
                    settledValues += (long) (f - sent[i]) * p.columns();
                    settledEntries++;
                }
                sent[i] = f;
                if (f < p.rows()) {
                    int copies = r == 0 ? 1 : 3;
                    liveValues += (long) copies * (p.rows() - f) * p.columns();
                    liveEntries += copies;
                    trainable += p.trainableCount();
                }
            }
            Map<String, Object> m = o.rounds().get(r);
            long broadcast = ((Number) m.get("broadcast_bytes")).longValue();
            assertEquals(
                    new Rows(settledValues, settledEntries).bytes() + new Rows(liveValues, liveEntries).bytes(),
                    broadcast,
                    "round " + r);
            if (trainable == 4L * 4 * w.adapters().targets().size() && r > 0) {
                frozenByEnd = true;
                // The goal: (trainable values + moments) x 4 bytes + 64 KB, here S and its two moments.
                assertTrue(broadcast <= 3 * trainable * 4 + 64 * 1024, "round " + r + ": " + broadcast);
                if (settledValues == 0) {
                    assertEquals(
                            3 * trainable * 4 + 13 * 3L * w.adapters().targets().size(), broadcast);
                    // What `params --json` predicts from the config alone.
                    assertEquals(
                            org.peft4j.adapters.plan.ParamPlan.of(
                                            org.peft4j.adapters.model.llama.TinyLlama.config(), c.adapter())
                                    .bytesPerRoundAfterFreeze(2),
                            broadcast);
                    // Each executor sends back S and its moments too.
                    assertEquals(2 * broadcast, ((Number) o.rounds().get(r).get("returned_bytes")).longValue());
                }
            }
            // Each of the two executors sends back the rows that could change, with their moments.
            long returned = ((Number) m.get("returned_bytes")).longValue();
            assertTrue(returned > 0 && returned % 2 == 0, "round " + r + ": " + returned);
        }
        assertTrue(frozenByEnd, "B froze within the run (freeze_fraction 0.3 of 12 steps)");
        long first = ((Number) o.rounds().get(0).get("broadcast_bytes")).longValue();
        long last = ((Number) o.rounds().get(5).get("broadcast_bytes")).longValue();
        assertTrue(last * 3 < first, "after the freeze a round sends S only: " + first + " -> " + last);
    }

    @Test
    void aWorkerNewToTheRunCatchesUpToTheSameStateAsOneThatNeverLeft() throws Exception {
        JobConfig c = config("catch-up");
        RunSpec spec = RunSpec.fresh(c);
        Worker driver = Worker.build(spec);
        driver.adapters().setTotalSteps(c.train().totalSteps());
        Worker stayed = Worker.build(spec);
        List<TokenizedExample> shard = RoundLoopTest.examplesFrom(data.toString(), c);
        RoundRows rows = new RoundRows(driver.adapters());
        List<StateSlice> settled = new ArrayList<>();
        for (int r = 0; r < c.train().rounds(); r++) {
            long step = (long) r * c.train().localSteps();
            driver.adapters().onStep(step);
            RoundRows.Parts parts = rows.next(driver.adapters(), driver.optimizer());
            settled.add(parts.settled());
            RoundInput in = new RoundInput(r, step, c.train().totalSteps(), parts.live(), new double[] {1e-2, 1e-2});
            PartitionResult mine = ExecutorStep.train(stayed, in, List.of(parts.settled()), shard, 0);
            if (r == 4) { // rows froze in rounds 0-3; a new worker applies every settled part, then the live rows
                Worker fresh = Worker.build(spec);
                PartitionResult theirs = ExecutorStep.train(fresh, in, settled, shard, 0);
                AdapterStates.assertBitEqual(
                        AdapterState.viewOf(stayed.adapters(), stayed.optimizer()),
                        AdapterState.viewOf(fresh.adapters(), fresh.optimizer()));
                assertTrue(theirs.state().sameEntries(mine.state()));
            }
            PairwiseTreeSum.of(List.of(mine)).state().applyTo(driver.adapters(), driver.optimizer());
        }
        // One partition averages back to its own values bit for bit.
        AdapterStates.assertBitEqual(
                AdapterState.viewOf(stayed.adapters(), stayed.optimizer()),
                AdapterState.viewOf(driver.adapters(), driver.optimizer()));
    }
}
