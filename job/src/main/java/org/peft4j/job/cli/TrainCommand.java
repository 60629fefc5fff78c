package org.peft4j.job.cli;

import java.io.PrintStream;
import java.util.List;
import org.peft4j.job.config.ConfigLoader;
import org.peft4j.job.config.JobConfig;
import org.peft4j.job.rounds.RoundLoop;

/** {@code train}: the distributed fine-tuning job. */
final class TrainCommand implements Command {
    @Override
    public String name() {
        return "train";
    }

    @Override
    public String summary() {
        return "fine-tune adapters in rounds on Spark (resumes from the newest checkpoint in run.output)";
    }

    @Override
    public String usage() {
        return """
                usage: deploy/peft4j train [--config FILE] [--set key=value ...] [--adapter DIR] [--dtype D]
                  FILE is HOCON (conf/quickstart.conf, conf/examples/*.conf); keys are listed with their defaults
                  in job/src/main/resources/reference.conf. --set and -Dpeft4j.key=value override the file, e.g.
                  --set train.rounds=20 --set spark.master=local[4]. Exit codes: 0 done, 2 bad configuration or
                  input, 3 failed but resumable (run the same command again). --adapter DIR starts from a saved
                  adapter (peft4j's or a PEFT LoRA) instead of fresh adapters (adapter.init_from). --dtype
                  auto|float32|bfloat16 sets model.dtype.""";
    }

    @Override
    public int run(List<String> argv, PrintStream out) throws Exception {
        RunArgs args = RunArgs.parse(argv, name(), true);
        List<String> sets = new java.util.ArrayList<>(args.sets());
        if (args.adapter() != null) {
            sets.add("adapter.init_from=\"" + args.adapter() + "\"");
        }
        JobConfig config = ConfigLoader.load(args.config(), sets);
        try {
            RoundLoop.run(config, out);
            return ExitCode.OK;
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (Exception e) {
            System.err.println("peft4j train: failed: " + e + "\nThe run can be resumed: run the same command again;"
                    + " it continues from the newest complete checkpoint under "
                    + config.run().output());
            e.printStackTrace();
            return ExitCode.RESUMABLE;
        }
    }
}
