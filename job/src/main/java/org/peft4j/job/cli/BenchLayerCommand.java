package org.peft4j.job.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.peft4j.adapters.bench.AdapterBench;

/** {@code bench-layer}: adapter forward+backward time and memory next to the GEMM rate of the same run. */
final class BenchLayerCommand implements Command {

    @Override
    public String name() {
        return "bench-layer";
    }

    @Override
    public String summary() {
        return "time each adapter's forward+backward on one d x d layer against this machine's fp32 GEMM rate";
    }

    @Override
    public String usage() {
        return """
                usage: deploy/peft4j bench-layer [--d 4096] [--rank 64] [--tokens 2048] [--reps 3] [--json]
                  Trains one d x d target linear per adapter (base only, LoRA, LaMDA with B training, LaMDA with B
                  frozen, Neat) and prints best-of-reps step time, bytes kept for backward, and the step's model
                  GFLOP/s as a fraction of the fp32 GEMM rate of a (tokens x d)(d x d) product measured in the
                  same run (MFU counts only the base layer's 4 T d^2 FLOPs, so adapter overhead lowers it).""";
    }

    @Override
    public int run(List<String> argv, PrintStream out) throws Exception {
        Args a = Args.parse(argv, Set.of("json"));
        int d = a.integer("d", 4096);
        int rank = a.integer("rank", 64);
        int tokens = a.integer("tokens", 2048);
        int reps = a.integer("reps", 3);
        boolean json = a.flag("json");
        a.finish();
        double gemm = AdapterBench.gemmRate(tokens, d, d, 3);
        List<AdapterBench.Result> results = AdapterBench.run(d, rank, tokens, reps);
        double base = results.get(0).msPerStep();
        if (json) {
            for (AdapterBench.Result r : results) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("adapter", r.name());
                o.put("d", d);
                o.put("rank", rank);
                o.put("tokens", tokens);
                o.put("ms_per_step", r.msPerStep());
                o.put("time_vs_base", r.msPerStep() / base);
                o.put("kept_bytes", r.keptBytes());
                o.put("trainable", r.trainable());
                o.put("gemm_gflops", gemm);
                o.put("mfu", r.gflops() / gemm);
                out.println(new ObjectMapper().writeValueAsString(o));
            }
            return ExitCode.OK;
        }
        out.printf("d=%d rank=%d tokens=%d, fp32 GEMM %.1f GFLOP/s in this run%n", d, rank, tokens, gemm);
        out.printf(
                "%-18s %10s %9s %14s %12s %6s%n", "adapter", "ms/step", "x base", "kept for bwd", "trainable", "MFU");
        for (AdapterBench.Result r : results) {
            out.printf(
                    "%-18s %10.1f %9.2f %11.1f MiB %,12d %5.0f%%%n",
                    r.name(),
                    r.msPerStep(),
                    r.msPerStep() / base,
                    r.keptBytes() / 1048576.0,
                    r.trainable(),
                    100 * r.gflops() / gemm);
        }
        return ExitCode.OK;
    }
}
