package org.peft4j.job.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * The command line of the commands that take a run configuration ({@code train}, {@code eval}): {@code --config
 * FILE}, any number of {@code --set key=value}, {@code --dtype D} (short for {@code --set model.dtype=D}, bf16 and
 * fp32 accepted) and, where allowed, {@code --adapter DIR}; each also as {@code --option=value}. ({@link Args} keeps
 * one value per option, and {@code --set} repeats.)
 */
record RunArgs(String config, List<String> sets, String adapter) {

    static RunArgs parse(List<String> argv, String command, boolean adapterAllowed) {
        String config = null;
        String adapter = null;
        List<String> sets = new ArrayList<>();
        for (int i = 0; i < argv.size(); i++) {
            String a = argv.get(i);
            int eq = a.indexOf('=');
            String key = eq > 0 ? a.substring(0, eq) : a;
            boolean known = key.equals("--config")
                    || key.equals("--set")
                    || key.equals("--dtype")
                    || (adapterAllowed && key.equals("--adapter"));
            if (!known) {
                throw new Args.UsageException("unknown option " + a + " (" + command + " takes --config FILE, --set k=v"
                        + (adapterAllowed ? ", --dtype D and --adapter DIR)" : " and --dtype D)"));
            }
            if (eq < 0 && i + 1 >= argv.size()) {
                throw new Args.UsageException("option " + a + " needs a value");
            }
            String value = eq > 0 ? a.substring(eq + 1) : argv.get(++i);
            switch (key) {
                case "--config" -> config = value;
                case "--set" -> sets.add(value);
                case "--dtype" ->
                    sets.add("model.dtype="
                            + org.peft4j.job.model.ModelDtype.parse(value, "--dtype")
                                    .key());
                default -> adapter = value;
            }
        }
        return new RunArgs(config, List.copyOf(sets), adapter);
    }
}
