"""Airflow DAG: one peft4j fine-tuning run per data interval, with SparkSubmitOperator.

Needs apache-airflow-providers-apache-spark and a Spark connection (default "spark_default") whose host is the
cluster master. Each interval gets its own run directory, so re-running a finished interval is cheap and safe: the
job resumes after its last round and exits 0; a failed attempt resumes from its newest complete checkpoint. Exit
codes of `peft4j train`: 0 done, 2 bad configuration or input (fail now, no retry), 3 resumable (retry).
"""
import re
from datetime import datetime, timedelta

from airflow import DAG
from airflow.exceptions import AirflowException, AirflowFailException
from airflow.models import Variable
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

PEFT4J_JAR = Variable.get("peft4j_jar", default_var="/opt/peft4j/peft4j-job-spark.jar")
RUN_CONFIG = Variable.get("peft4j_config", default_var="hdfs:///peft4j/conf/commonsense-lamda.conf")
RUNS_ROOT = Variable.get("peft4j_runs_root", default_var="hdfs:///peft4j/runs")

# Java 17 flags Spark needs, and ND4J's off-heap cap (see deploy/spark-submit.sh for the reasoning).
JAVA_OPTS = " ".join(
    ["-XX:+IgnoreUnrecognizedVMOptions", "-Djdk.reflect.useDirectMethodHandle=false",
     "-Dorg.bytedeco.javacpp.maxbytes=24g", "-Dorg.bytedeco.javacpp.maxphysicalbytes=24g",
     "-Dorg.bytedeco.javacpp.logger=slf4j"]
    + ["--add-opens=java.base/%s=ALL-UNNAMED" % p for p in (
        "java.lang", "java.lang.invoke", "java.lang.reflect", "java.io", "java.net", "java.nio", "java.util",
        "java.util.concurrent", "java.util.concurrent.atomic", "jdk.internal.ref", "sun.nio.ch", "sun.nio.cs",
        "sun.security.action", "sun.util.calendar")]
    + ["--add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED"])

# peft4j train exit codes: which ones are worth a retry.
EXIT_NO_RETRY = {2}
EXIT_RETRY = {1, 3}


class Peft4jSubmitOperator(SparkSubmitOperator):
    """SparkSubmitOperator that maps peft4j's exit codes: 2 fails the task at once, 3 (resumable) retries."""

    def execute(self, context):
        try:
            return super().execute(context)
        except AirflowException as e:
            code = exit_code(str(e))
            if code in EXIT_NO_RETRY:
                raise AirflowFailException("peft4j: bad configuration or input (exit %d): %s" % (code, e)) from e
            raise


def exit_code(message):
    """The spark-submit exit code in a SparkSubmitHook error ("... Error code is: 2."), or None."""
    m = re.search(r"Error code is: (\d+)", message)
    return int(m.group(1)) if m else None


with DAG(
    dag_id="peft4j_finetune",
    description="Fine-tune LLaMA adapters with peft4j on Spark, one run directory per interval",
    schedule="@weekly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 3, "retry_delay": timedelta(minutes=10), "retry_exponential_backoff": True},
    tags=["peft4j", "spark"],
) as dag:
    train = Peft4jSubmitOperator(
        task_id="train",
        conn_id="spark_default",
        application=PEFT4J_JAR,
        java_class="org.peft4j.job.cli.Main",
        name="peft4j-{{ ds_nodash }}",
        # The run directory is templated per interval: a re-run of the interval resumes or finds it finished.
        application_args=["train", "--config", RUN_CONFIG,
                          "--set", "run.output=" + RUNS_ROOT + "/{{ data_interval_start | ds_nodash }}"],
        conf={
            "spark.driver.extraJavaOptions": JAVA_OPTS,
            "spark.executor.extraJavaOptions": JAVA_OPTS,
            "spark.executor.memory": "8g",
            "spark.executor.memoryOverhead": "24g",
            "spark.task.maxFailures": "4",
        },
        execution_timeout=timedelta(hours=48),
    )
