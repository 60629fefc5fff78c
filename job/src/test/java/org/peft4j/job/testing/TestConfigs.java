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
     * The quickstart run file made small: output under {@code output}, the 32-record sample eval file as training
     * data, no evaluation, batches of 4, 2 local steps, no intermediate checkpoints; then {@code sets}, which win.
     */
    public static JobConfig smallQuickstart(Object output, String... sets) throws Exception {
        List<String> all = new ArrayList<>(List.of(
                "run.output=" + output,
                "data.train=[{dataset = commonsense, path = \"" + ROOT.resolve("conf/samples/commonsense_eval.json")
                        + "\"}]",
                "data.eval.path=null",
                "data.batch_rows=4",
                "train.local_steps=2",
                "checkpoint.every=0"));
        all.addAll(List.of(sets));
        return ConfigLoader.load(ROOT.resolve("conf/quickstart.conf").toString(), all);
    }
}
