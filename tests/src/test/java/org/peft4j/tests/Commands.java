package org.peft4j.tests;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The one way the end-to-end tests run programs: {@code deploy/peft4j} and the other deploy/ scripts as separate
 * processes from the repository root, exactly as the README tells users to, with their output captured.
 */
final class Commands {
    static final Path ROOT = Path.of(System.getProperty("peft4jtest.repo.root", ".."));
    private static final int TIMEOUT_SECONDS = 300;

    private Commands() {}

    /** Exit code, standard output and standard error (empty when merged into the output). */
    record Result(int code, String out, String err) {}

    /** {@code deploy/peft4j args...}. */
    static Result peft4j(String... args) throws Exception {
        return run(peft4jCommand(args), Map.of(), false);
    }

    /** The command line of {@code deploy/peft4j args...}. */
    static List<String> peft4jCommand(String... args) {
        List<String> cmd = new ArrayList<>(List.of(ROOT.resolve("deploy/peft4j").toString()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** The arguments {@code train --config conf/quickstart.conf --set run.output=OUTPUT --set S ...}. */
    static String[] quickstart(Path output, String... sets) {
        List<String> args =
                new ArrayList<>(List.of("train", "--config", "conf/quickstart.conf", "--set", "run.output=" + output));
        for (String s : sets) {
            args.addAll(List.of("--set", s));
        }
        return args.toArray(String[]::new);
    }

    /** Runs {@code cmd} to its end with extra environment; {@code mergeErr} puts standard error into the output. */
    static Result run(List<String> cmd, Map<String, String> env, boolean mergeErr) throws Exception {
        Path out = Files.createTempFile("peft4j", ".out");
        Path err = Files.createTempFile("peft4j", ".err");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(ROOT.toFile()).redirectOutput(out.toFile());
            if (mergeErr) {
                pb.redirectErrorStream(true);
            } else {
                pb.redirectError(err.toFile());
            }
            pb.environment().putAll(env);
            Process p = pb.start();
            assertTrue(
                    p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS),
                    cmd.get(0) + " did not finish in " + TIMEOUT_SECONDS + " s");
            return new Result(
                    p.exitValue(),
                    Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** Starts {@code cmd} in the background, standard output and error going to {@code log}. */
    static Process start(List<String> cmd, Path log) throws IOException {
        return new ProcessBuilder(cmd)
                .directory(ROOT.toFile())
                .redirectOutput(log.toFile())
                .redirectErrorStream(true)
                .start();
    }

    /** Runs {@code cmd} in the background to its end, output to {@code log}; returns the exit code. */
    static int runLogged(List<String> cmd, Path log) throws Exception {
        Process p = start(cmd, log);
        assertTrue(
                p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS),
                cmd.get(0) + " did not finish in " + TIMEOUT_SECONDS + " s");
        return p.exitValue();
    }
}
