package org.peft4j.job.cli;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.peft4j.adapters.registry.AdapterMethods;
import org.peft4j.job.checkpoint.RunLayout;
import org.peft4j.job.config.ConfigLoader;
import org.peft4j.job.fs.Locations;
import org.peft4j.job.metrics.MetricsChart;
import org.peft4j.job.metrics.MetricsLog;

/**
 * {@code compare}: the same configuration (data, seed, budget) trained once per method, each in a child JVM (so that
 * peak RSS is its own), then one table and one overlaid picture.
 */
final class CompareCommand implements Command {

    @Override
    public String name() {
        return "compare";
    }

    @Override
    public String summary() {
        return "train one configuration with several methods and tabulate and plot them side by side";
    }

    @Override
    public String usage() {
        return """
                usage: deploy/peft4j compare --config FILE --methods lora,lamda,lamda:freeze=code,neat
                                             [--set key=value ...] [--out runs/compare]
                  Runs `train --config FILE --set ...` once per method (adapter.method; after a colon, adapter
                  options joined by +, e.g. lamda:freeze=code+freeze_fraction=0.5), each in its own JVM with the same
                  data, seed and budget and its output under OUT/<method>. Then prints and writes OUT/compare.txt:
                  trainable values at the start and the end (after LaMDA's freeze), final training loss, last eval
                  metrics, mean tokens/s, peak RSS, bytes per round at the end; and OUT/compare.png: the training
                  loss and eval metrics of all runs against the step.""";
    }

    /** One method to run: its label (the output directory's name) and the settings it adds. */
    record Variant(String label, List<String> sets) {
        static Variant parse(String spec) {
            int colon = spec.indexOf(':');
            String method = colon < 0 ? spec : spec.substring(0, colon);
            if (!AdapterMethods.names().contains(method)) {
                throw new Args.UsageException("option --methods: unknown method '" + method + "' (expected one of "
                        + AdapterMethods.names() + ")");
            }
            List<String> sets = new ArrayList<>(List.of("adapter.method=\"" + method + "\""));
            if (colon >= 0) {
                List<String> opts = new ArrayList<>();
                for (String kv : spec.substring(colon + 1).split("\\+")) {
                    int eq = kv.indexOf('=');
                    if (eq <= 0) {
                        throw new Args.UsageException(
                                "option --methods: expected method:key=value[+key=value], found '" + spec + "'");
                    }
                    opts.add(kv.substring(0, eq) + " = \"" + kv.substring(eq + 1) + "\"");
                }
                sets.add("adapter.options={" + String.join(", ", opts) + "}");
            }
            // lamda:freeze=code+freeze_fraction=0.5 -> lamda_freeze=code_freeze_fraction=0.5; lamda++ stays itself
            return new Variant(
                    colon < 0
                            ? method
                            : method + "_" + spec.substring(colon + 1).replace('+', '_'),
                    sets);
        }
    }

    @Override
    public int run(List<String> argv, PrintStream out) throws Exception {
        List<String> rest = new ArrayList<>();
        String methods = null;
        String dir = "runs/compare";
        for (int i = 0; i < argv.size(); i++) {
            String a = argv.get(i);
            if ((a.equals("--methods") || a.equals("--out")) && i + 1 < argv.size()) {
                if (a.equals("--methods")) {
                    methods = argv.get(++i);
                } else {
                    dir = argv.get(++i);
                }
            } else if (a.startsWith("--methods=")) {
                methods = a.substring("--methods=".length());
            } else if (a.startsWith("--out=")) {
                dir = a.substring("--out=".length());
            } else {
                rest.add(a);
            }
        }
        if (methods == null) {
            throw new Args.UsageException("missing option --methods");
        }
        RunArgs args = RunArgs.parse(rest, name(), false);
        List<Variant> variants = new ArrayList<>();
        for (String m : methods.split(",")) {
            variants.add(Variant.parse(m.strip()));
        }
        Map<String, List<Map<String, Object>>> records = new LinkedHashMap<>();
        for (Variant v : variants) {
            String output = Locations.child(dir, v.label());
            List<String> sets = new ArrayList<>(args.sets());
            sets.addAll(v.sets());
            sets.add("run.output=\"" + output + "\"");
            ConfigLoader.load(args.config(), sets); // a bad value fails here, before any run starts
            out.println("peft4j compare: " + v.label() + " -> " + output);
            int rc = train(args.config(), sets);
            if (rc != 0) {
                throw new IllegalStateException("peft4j compare: train for " + v.label() + " exited with " + rc);
            }
            String file = Locations.child(output, RunLayout.METRICS);
            records.put(v.label(), MetricsLog.parse(Locations.read(file), file));
        }
        String table = ReportCommand.table(records);
        out.print(table);
        byte[] png = MetricsChart.overlay(records, 1200, 900);
        Locations.write(dir, "compare.png", o -> o.write(png));
        Locations.write(dir, "compare.txt", o -> o.write(table.getBytes(StandardCharsets.UTF_8)));
        out.println("wrote " + Locations.child(dir, "compare.png") + " and " + Locations.child(dir, "compare.txt"));
        return ExitCode.OK;
    }

    /** {@code train} in a child JVM with this JVM's flags and classpath; its output goes to ours. */
    private static int train(String config, List<String> sets) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.add("train");
        if (config != null) {
            cmd.add("--config");
            cmd.add(config);
        }
        for (String s : sets) {
            cmd.add("--set");
            cmd.add(s);
        }
        return new ProcessBuilder(cmd).inheritIO().start().waitFor();
    }
}
