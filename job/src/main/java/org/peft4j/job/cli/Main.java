package org.peft4j.job.cli;

import java.io.PrintStream;
import java.util.List;

/**
 * Entry point of {@code deploy/peft4j}. Exit codes: 0 done, 2 bad command line, config or input, 1 anything else.
 */
public final class Main {
    static final List<Command> COMMANDS = List.of(
            new ParamsCommand(),
            new PerplexityCommand(),
            new MergeCommand(),
            new ExportCommand(),
            new PromptsCommand(),
            new TrainCommand(),
            new EvalCommand(),
            new InspectCommand(),
            new ReportCommand(),
            new CompareCommand(),
            new BenchCommand(),
            new BenchLayerCommand(),
            new BenchDataCommand());

    private Main() {}

    public static void main(String[] argv) {
        System.exit(run(List.of(argv), System.out, System.err));
    }

    static int run(List<String> argv, PrintStream out, PrintStream err) {
        if (argv.isEmpty()
                || argv.get(0).equals("--help")
                || argv.get(0).equals("-h")
                || argv.get(0).equals("help")) {
            out.println(help());
            return argv.isEmpty() ? ExitCode.BAD_INPUT : ExitCode.OK;
        }
        Command cmd = COMMANDS.stream()
                .filter(c -> c.name().equals(argv.get(0)))
                .findFirst()
                .orElse(null);
        if (cmd == null) {
            err.println("peft4j: unknown command '" + argv.get(0) + "'\n\n" + help());
            return ExitCode.BAD_INPUT;
        }
        List<String> rest = argv.subList(1, argv.size());
        if (rest.contains("--help") || rest.contains("-h")) {
            out.println(cmd.usage());
            return ExitCode.OK;
        }
        try {
            return cmd.run(rest, out);
        } catch (Args.UsageException e) {
            err.println("peft4j " + cmd.name() + ": " + e.getMessage() + "\n\n" + cmd.usage());
            return ExitCode.BAD_INPUT;
        } catch (IllegalArgumentException e) {
            err.println("peft4j " + cmd.name() + ": " + e.getMessage());
            return ExitCode.BAD_INPUT;
        } catch (Exception e) {
            err.println("peft4j " + cmd.name() + ": failed: " + e);
            e.printStackTrace(err);
            return ExitCode.FAILED;
        }
    }

    static String help() {
        StringBuilder sb = new StringBuilder("usage: deploy/peft4j <command> [options]\n\ncommands:\n");
        for (Command c : COMMANDS) {
            sb.append(String.format("  %-12s %s%n", c.name(), c.summary()));
        }
        sb.append("\n`deploy/peft4j <command> --help` shows a command's options.");
        return sb.toString();
    }
}
