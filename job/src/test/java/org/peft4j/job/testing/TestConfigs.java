package org.peft4j.job.testing;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.peft4j.job.config.ConfigLoader;
import org.peft4j.job.config.JobConfig;

/** Run configurations the job and end-to-end tests share. */
public final class TestConfigs {
    /** The repository root (where conf/ and deploy/ are). */
    public static final Path ROOT = Path.of(System.getProperty("peft4jtest.repo.root", ".."));

    private TestConfigs() {}

    /**
     * The quickstart run file made small: LaMDA on the built-in random-weight {@code builtin:tiny-llama} (these tests check
     * the figures they assert were measured on it), output under {@code output}, the 32-record commonsense sample eval file as
     * training data, no evaluation (an eval path set later reads commonsense records), batches of 4, 2 local steps,
     * no intermediate checkpoints; then {@code sets}, which win.
     */
    public static JobConfig smallQuickstart(Object output, String... sets) throws Exception {
        List<String> all = new ArrayList<>(List.of(
                "run.output=" + output,
                "model.path=builtin:tiny-llama",
                "adapter.method=lamda",
                "data.train=[{dataset = commonsense, path = \"" + ROOT.resolve("conf/samples/commonsense_eval.json")
                        + "\"}]",
                "data.eval.path=null",
                "data.eval.dataset=commonsense",
                "data.eval.max_records=32",
                "eval.at_start=false",
                "eval.max_new_tokens=40",
                "eval.every=8",
                "data.max_length=320",
                "train.lr=1e-2",
                "train.rounds=24",
                "data.batch_rows=4",
                "train.local_steps=2",
                "checkpoint.every=0"));
        all.addAll(List.of(sets));
        return ConfigLoader.load(ROOT.resolve("conf/quickstart.conf").toString(), all);
    }
}
