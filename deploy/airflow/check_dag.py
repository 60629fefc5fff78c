#!/usr/bin/env python3
"""Checks peft4j_dag.py without Airflow installed: parses it with ast and asserts the operator's arguments, the
per-interval run directory, retries and the exit-code mapping (the pure function is executed). Exit 0 when all
checks pass; prints the first failure otherwise. Run: python3 deploy/airflow/check_dag.py
"""
import ast
import os
import sys

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peft4j_dag.py")


def main():
    src = open(PATH, encoding="utf-8").read()
    tree = ast.parse(src, PATH)
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    assigns = {t.id: n.value for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
               if isinstance(t, ast.Name)}

    op = classes.get("Peft4jSubmitOperator")
    check(op is not None, "class Peft4jSubmitOperator is defined")
    check([b.id for b in op.bases if isinstance(b, ast.Name)] == ["SparkSubmitOperator"],
          "it extends SparkSubmitOperator")
    check(ast.literal_eval(assigns["EXIT_NO_RETRY"]) == {2}, "exit 2 (bad config/input) is not retried")
    check(3 in ast.literal_eval(assigns["EXIT_RETRY"]), "exit 3 (resumable) is retried")
    check("AirflowFailException" in ast.unparse(op), "non-retryable codes raise AirflowFailException")

    # Execute the pure exit-code parser on the hook's real message format.
    ns = {"re": __import__("re")}
    exec(compile(ast.Module(body=[funcs["exit_code"]], type_ignores=[]), PATH, "exec"), ns)
    check(ns["exit_code"]("Cannot execute: spark-submit ... Error code is: 2.") == 2, "exit code parsed")
    check(ns["exit_code"]("something else") is None, "no code, None")

    dag_call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "DAG")
    kw = {k.arg: k.value for k in dag_call.keywords}
    check(ast.literal_eval(kw["dag_id"]) == "peft4j_finetune", "dag_id")
    check(ast.literal_eval(kw["max_active_runs"]) == 1, "one run at a time (runs share a cluster)")
    check(ast.literal_eval(kw["catchup"]) is False, "no backfill storm")
    defaults = kw["default_args"]
    check(any(ast.literal_eval(k) == "retries" and ast.literal_eval(v) >= 1
              for k, v in zip(defaults.keys, defaults.values)), "retries >= 1")

    task = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "")
                == "Peft4jSubmitOperator")
    tk = {k.arg: k.value for k in task.keywords}
    check(ast.unparse(tk["java_class"]) == "'org.peft4j.job.cli.Main'", "main class")
    args = ast.unparse(tk["application_args"])
    check("'train'" in args and "'--config'" in args, "runs peft4j train --config")
    check("run.output=" in args and "data_interval_start" in args, "run directory templated per interval")
    conf = ast.unparse(tk["conf"])
    check("spark.executor.extraJavaOptions" in conf and "spark.driver.extraJavaOptions" in conf,
          "Java 17 flags for driver and executors")
    check("--add-opens=java.base/%s=ALL-UNNAMED" in ast.unparse(assigns["JAVA_OPTS"]), "add-opens flags")
    print("peft4j_dag.py: all checks passed")


def check(ok, what):
    if not ok:
        print("peft4j_dag.py check failed: " + what)
        sys.exit(1)


if __name__ == "__main__":
    main()
