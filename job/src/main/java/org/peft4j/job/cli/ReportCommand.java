package org.peft4j.job.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.peft4j.job.checkpoint.RunLayout;
import org.peft4j.job.fs.Locations;
import org.peft4j.job.metrics.MetricsChart;
import org.peft4j.job.metrics.MetricsLog;

/** {@code report}: several runs' curves overlaid in one PNG, and a table of their final metrics. */
final class ReportCommand implements Command {

    @Override
    public String name() {
        return "report";
    }

    @Override
    public String summary() {
        return "overlay several runs' training loss and eval metrics in one PNG and tabulate their final numbers";
    }

    @Override
    public String usage() {
        return """
                usage: deploy/peft4j report --run DIR [--run DIR ...] --out FILE.png [--width 1200] [--height 900]
                  DIR is a run's output (run.output: its metrics.jsonl) on any file system. Writes the training loss
                  and every eval metric of the runs against the global step, one line per run, and prints per run:
                  method, rank, trainable values at the start and at the end (LaMDA's PMB freeze lowers it), rounds,
                  final training loss, mean tokens/s, peak RSS of its JVM, bytes its last round moved (broadcast to
                  one executor and returned by all) and its last evaluation.""";
    }

    @Override
    public int run(List<String> argv, PrintStream out) throws Exception {
        List<String> runs = new ArrayList<>();
        List<String> rest = new ArrayList<>();
        for (int i = 0; i < argv.size(); i++) {
            String s = argv.get(i);
            if (s.equals("--run") && i + 1 < argv.size()) {
                runs.add(argv.get(++i));
            } else if (s.startsWith("--run=")) {
                runs.add(s.substring("--run=".length()));
            } else {
                rest.add(s);
            }
        }
        Args a = Args.parse(rest, Set.of());
        String png = a.required("out");
        int width = a.integer("width", 1200);
        int height = a.integer("height", 900);
        a.finish();
        if (runs.isEmpty()) {
            throw new Args.UsageException("missing option --run");
        }
        Map<String, List<Map<String, Object>>> records = new LinkedHashMap<>();
        for (String dir : runs) {
            String file = Locations.child(dir, RunLayout.METRICS);
            if (!Locations.exists(dir, RunLayout.METRICS)) {
                throw new IllegalArgumentException(file + ": no such file (is " + dir + " a run's output?)");
            }
            List<Map<String, Object>> rs = MetricsLog.parse(Locations.read(file), file);
            if (rs.isEmpty()) {
                throw new IllegalArgumentException(file + ": no rounds recorded");
            }
            records.put(label(dir, rs, records.keySet()), rs);
        }
        out.print(table(records));
        byte[] bytes = MetricsChart.overlay(records, width, height);
        int slash = png.lastIndexOf('/');
        Locations.write(
                slash < 0 ? "." : png.substring(0, Math.max(slash, 1)), png.substring(slash + 1), o -> o.write(bytes));
        out.println("wrote " + png);
        return ExitCode.OK;
    }

    /** {@code lamda r=8 (runs/a)}: method and rank, with the directory to tell equal ones apart. */
    static String label(String dir, List<Map<String, Object>> rs, Set<String> taken) {
        Map<String, Object> first = rs.get(0);
        String l = first.get("method") + " r=" + first.get("rank") + " (" + dir + ")";
        return taken.contains(l) ? l + " #" + (taken.size() + 1) : l;
    }

    static String table(Map<String, List<Map<String, Object>>> runs) {
        StringBuilder sb = new StringBuilder(String.format(
                "%-40s %-8s %5s %12s %12s %7s %10s %10s %8s %14s  %s%n",
                "run",
                "method",
                "rank",
                "trainable",
                "after",
                "rounds",
                "loss",
                "tokens/s",
                "RSS MB",
                "bytes/round",
                "last eval"));
        runs.forEach((label, rs) -> {
            Map<String, Object> first = rs.get(0);
            Map<String, Object> last = rs.get(rs.size() - 1);
            Map<String, Object> eval = new LinkedHashMap<>();
            double tps = 0;
            double rss = 0;
            int rounds = 0; // eval.at_start adds a record with no training figures
            for (Map<String, Object> r : rs) {
                if (r.containsKey("loss")) {
                    rounds++;
                    tps += num(r, "tokens_per_s");
                }
                r.forEach((k, v) -> {
                    if (k.startsWith("eval_") && !k.equals("eval_seconds")) {
                        eval.put(k, v);
                    }
                });
                double peak = num(r, "peak_rss_mb");
                rss = Double.isNaN(peak) ? rss : Math.max(rss, peak);
            }
            long bytes = (long) (num(last, "broadcast_bytes") + num(last, "returned_bytes"));
            String dir = label.endsWith(")") ? label.substring(label.indexOf('(') + 1, label.length() - 1) : label;
            sb.append(String.format(
                    "%-40s %-8s %5s %,12d %,12d %7d %10.4f %10.0f %8.0f %,14d  %s%n",
                    dir,
                    first.get("method"),
                    first.get("rank"),
                    (long) num(first, "trainable"),
                    (long) num(last, "trainable"),
                    rounds,
                    num(last, "loss"),
                    tps / rounds,
                    rss,
                    bytes,
                    eval.isEmpty() ? "-" : eval));
        });
        return sb.toString();
    }

    private static double num(Map<String, Object> r, String key) {
        return r.get(key) instanceof Number n ? n.doubleValue() : Double.NaN;
    }
}
