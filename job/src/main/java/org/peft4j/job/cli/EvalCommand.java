package org.peft4j.job.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.peft4j.adapters.io.AdapterCheckpoint;
import org.peft4j.job.checkpoint.CheckpointFiles;
import org.peft4j.job.checkpoint.CheckpointStore;
import org.peft4j.job.checkpoint.RunLayout;
import org.peft4j.job.config.ConfigLoader;
import org.peft4j.job.config.JobConfig;
import org.peft4j.job.eval.EvalRecords;
import org.peft4j.job.fs.Locations;
import org.peft4j.job.model.ModelLoader;
import org.peft4j.job.rounds.EvalStep;
import org.peft4j.job.rounds.SparkSetup;
import org.peft4j.job.worker.RunSpec;
import org.peft4j.job.worker.Worker;

/** {@code eval}: scores a run's adapters on its held-out data, without Spark. */
final class EvalCommand implements Command {

    @Override
    public String name() {
        return "eval";
    }

    @Override
    public String summary() {
        return "score a run's adapters (final/ or its newest checkpoint) on data.eval";
    }

    @Override
    public String usage() {
        return """
                usage: deploy/peft4j eval --config FILE [--set key=value ...] [--adapter DIR] [--dtype D]
                  Loads the run's base model and adapters (--adapter, else <run.output>/final, else the newest
                  complete checkpoint) and prints one JSON object: eval_records, eval_loss and eval_accuracy (causal
                  LM) or the GLUE metrics (sequence head), computed as during training: on Spark (spark.master,
                  spark.executors), the records spread over the executors. --dtype auto|float32|bfloat16 sets
                  model.dtype.""";
    }

    @Override
    public int run(List<String> argv, PrintStream out) throws Exception {
        RunArgs args = RunArgs.parse(argv, name(), true);
        String adapter = args.adapter();
        JobConfig c = ConfigLoader.load(args.config(), args.sets());
        if (!c.data().evaluates()) {
            throw new IllegalArgumentException(
                    "peft4j.data.eval.path and peft4j.data.eval.split are null: nothing to" + " evaluate on");
        }
        Worker w = Worker.build(RunSpec.fresh(c));
        System.err.println(w.model().dtype().line());
        String source;
        String fin = RunLayout.finalDir(c.run().output());
        if (adapter == null && Locations.exists(fin, AdapterCheckpoint.CONFIG)) {
            adapter = fin;
        }
        if (adapter != null) {
            ModelLoader.loadAdapterValues(adapter, w.adapters());
            source = adapter;
        } else {
            var ck = new CheckpointStore(RunLayout.checkpoints(c.run().output()), 1)
                    .latest()
                    .orElseThrow(() -> new IllegalArgumentException(
                            c.run().output() + ": no final/ adapter and no" + " complete checkpoint to evaluate"));
            CheckpointFiles.loadState(ck, w.adapters(), w.optimizer());
            source = ck.dir();
        }
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("adapter", source);
        EvalRecords records = c.data().evalSplit() != null ? EvalRecords.heldOutLocally(c) : EvalRecords.fromFile(c);
        try (var sc = SparkSetup.context(c)) {
            long t0 = System.nanoTime();
            o.putAll(EvalStep.evaluate(sc, w, records));
            double s = (System.nanoTime() - t0) / 1e9;
            o.put("eval_seconds", s);
            o.put("eval_records_per_s", records.size() / s);
        }
        out.println(new ObjectMapper().writeValueAsString(o));
        return ExitCode.OK;
    }
}
