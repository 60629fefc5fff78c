package org.peft4j.job.rounds;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.peft4j.datasets.batch.TokenizedExample;
import org.peft4j.job.config.ConfigLoader;
import org.peft4j.job.config.JobConfig;

/**
 * A worker that served another shard before must train exactly like a fresh one: what an executor does after
 * taking over a lost executor's partition, replaying steps it has already passed on its own shard. Nothing may
 * leak from one task to the next: not buffers, not LaMDA's freeze state (which once only ever grew).
 */
class WorkerReuseTest {
    @Test
    void aReusedWorkerTrainsBitForBitLikeAFreshOne() throws Exception {
        String root = System.getProperty("peft4jtest.repo.root", "..");
        // 40 steps: B's rows freeze one by one over steps 0..12, so steps 2 and 3 differ in what trains.
        JobConfig c = ConfigLoader.load(
                root + "/conf/quickstart.conf", List.of("data.batch_rows=4", "train.local_steps=2", "train.rounds=20"));
        RunSpec spec = RunSpec.fresh(c);
        Worker driver = new Worker(spec);
        byte[] state = AdapterState.of(driver.adapters(), driver.optimizer()).toBytes();
        List<TokenizedExample> all = RoundLoopTest.examplesFrom(root + "/conf/samples/commonsense_eval.json", c);
        List<TokenizedExample> shardA = all.subList(0, 16);
        List<TokenizedExample> shardB = all.subList(16, 32);

        Worker fresh = new Worker(spec);
        AdapterState a = trainRound(fresh, state, shardA, 0, 2);

        Worker reused = new Worker(spec);
        trainRound(reused, state, shardB, 1, 2);
        AdapterState b = trainRound(reused, state, shardA, 0, 2);
        a.tensors()
                .forEach((k, v) -> assertArrayEquals(
                        v.dup().data().asFloat(),
                        b.tensors().get(k).dup().data().asFloat(),
                        k));
        a.moments()
                .forEach((k, v) -> assertArrayEquals(
                        v.dup().data().asFloat(),
                        b.moments().get(k).dup().data().asFloat(),
                        k));
    }

    static AdapterState trainRound(Worker w, byte[] state, List<TokenizedExample> shard, int p, long step) {
        AdapterState.fromBytes(state, "t").applyTo(w.adapters(), w.optimizer());
        BatchPlan plan = new BatchPlan(shard, 4, w.model().tokenizer().padId(), 42, p);
        for (long s = step; s < step + 2; s++) {
            w.trainer().step(BatchPlan.toTokenBatch(plan.batch(s)), s, 1e-2);
        }
        return AdapterState.of(w.adapters(), w.optimizer());
    }
}
