package org.peft4j.job.rounds;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.peft4j.datasets.batch.TokenizedExample;
import org.peft4j.job.config.ConfigLoader;
import org.peft4j.job.config.JobConfig;
import org.peft4j.job.state.AdapterState;
import org.peft4j.job.state.StateSlice;
import org.peft4j.job.testing.AdapterStates;
import org.peft4j.job.worker.RunSpec;
import org.peft4j.job.worker.Worker;

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
                root + "/conf/quickstart.conf",
                List.of("adapter.method=lamda", "data.batch_rows=4", "train.local_steps=2", "train.rounds=20"));
        RunSpec spec = RunSpec.fresh(c);
        Worker driver = Worker.build(spec);
        StateSlice state = new RoundRows(driver.adapters())
                .next(driver.adapters(), driver.optimizer())
                .live();
        List<TokenizedExample> all = RoundLoopTest.examplesFrom(root + "/conf/samples/commonsense_eval.json", c);
        List<TokenizedExample> shardA = all.subList(0, 16);
        List<TokenizedExample> shardB = all.subList(16, 32);

        Worker fresh = Worker.build(spec);
        AdapterState a = trainRound(fresh, state, shardA, 0, 2);

        Worker reused = Worker.build(spec);
        trainRound(reused, state, shardB, 1, 2);
        AdapterState b = trainRound(reused, state, shardA, 0, 2);
        AdapterStates.assertBitEqual(a, b);
    }

    /** Two local steps at lr 0.01 from global step {@code step}, through the executor step the job ships. */
    static AdapterState trainRound(Worker w, StateSlice state, List<TokenizedExample> shard, int p, long step) {
        ExecutorStep.train(w, new RoundInput(0, step, 40, state, new double[] {1e-2, 1e-2}), List.of(), shard, p);
        return AdapterState.viewOf(w.adapters(), w.optimizer());
    }
}
