package org.peft4j.job.cli;

import java.io.PrintStream;
import java.util.List;

/** One {@code deploy/peft4j <command>}. */
interface Command {
    String name();

    /** One line for {@code --help}. */
    String summary();

    /** Full usage, printed by {@code <command> --help} and after a usage error. */
    String usage();

    /** Runs with the arguments after the command name; returns the exit code. */
    int run(List<String> args, PrintStream out) throws Exception;
}
