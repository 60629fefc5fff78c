package org.peft4j.job.cli;

/** What {@code deploy/peft4j} exits with; the Airflow DAG and deploy/spark-submit.sh rely on these numbers. */
final class ExitCode {
    /** Done. */
    static final int OK = 0;
    /** Failed for another reason (a bug, the machine); the stack trace is printed. */
    static final int FAILED = 1;
    /** Bad command line, configuration or input: the message names the file, line or key. Retrying will not help. */
    static final int BAD_INPUT = 2;
    /** {@code train} failed but can be resumed: running the same command continues from the newest checkpoint. */
    static final int RESUMABLE = 3;

    private ExitCode() {}
}
