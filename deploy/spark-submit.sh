#!/usr/bin/env bash
# Submits the peft4j job to a Spark cluster with the settings it needs. Build the jar first:
#   mvn -B -Pshaded -DskipTests package            (CPU executors)
#   mvn -B -Pshaded,cuda -DskipTests package       (GPU executors: sm_37..sm_86, not Hopper; see README)
# Usage:
#   deploy/spark-submit.sh --master spark://host:7077 [--gpu] [spark-submit options...] -- --config s3a://.../run.conf
#   deploy/spark-submit.sh --master yarn --deploy-mode cluster --num-executors 8 -- --config hdfs:///runs/x.conf
#   deploy/spark-submit.sh --master k8s://https://api:6443 --conf spark.kubernetes.container.image=IMG -- --config ...
# Everything before "--" goes to spark-submit, everything after to `peft4j train`.
# Environment: SPARK_HOME (spark-submit from Spark 3.5.x), PEFT4J_JAR (default job/target/peft4j-job-spark.jar),
# PEFT4J_EXECUTOR_MEMORY (JVM heap, default 8g), PEFT4J_EXECUTOR_NATIVE (ND4J off-heap cap, default 24g).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jar="${PEFT4J_JAR:-$root/job/target/peft4j-job-spark.jar}"
submit="${SPARK_HOME:+$SPARK_HOME/bin/}spark-submit"
[[ -f "$jar" ]] || { echo "spark-submit.sh: $jar not found: mvn -B -Pshaded -DskipTests package" >&2; exit 2; }

spark_args=()
gpu=false
while [[ $# -gt 0 && "$1" != "--" ]]; do
  if [[ "$1" == "--gpu" ]]; then gpu=true; else spark_args+=("$1"); fi
  shift
done
[[ "${1:-}" == "--" ]] && shift

heap="${PEFT4J_EXECUTOR_MEMORY:-8g}"
native="${PEFT4J_EXECUTOR_NATIVE:-24g}"
# Java 17 module flags Spark needs (org.apache.spark.launcher.JavaModuleOptions), plus ND4J's native-memory caps:
# JavaCPP caps off-heap memory at 4x the heap unless told (FINDINGS.md); size memoryOverhead to cover it.
opens="-XX:+IgnoreUnrecognizedVMOptions --add-opens=java.base/java.lang=ALL-UNNAMED \
--add-opens=java.base/java.lang.invoke=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED \
--add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED \
--add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED \
--add-opens=java.base/java.util.concurrent=ALL-UNNAMED --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED \
--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
--add-opens=java.base/sun.nio.cs=ALL-UNNAMED --add-opens=java.base/sun.security.action=ALL-UNNAMED \
--add-opens=java.base/sun.util.calendar=ALL-UNNAMED --add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED \
-Djdk.reflect.useDirectMethodHandle=false"
# JavaCPP logs through slf4j (Spark's log4j): its "versions do not match" warnings (JavaCPP 1.5.14 under ND4J's 1.5.7
# presets, on purpose; README "GEMM backends") become log lines instead of raw stderr.
javacpp="-Dorg.bytedeco.javacpp.maxbytes=$native -Dorg.bytedeco.javacpp.maxphysicalbytes=$native \
-Dorg.bytedeco.javacpp.logger=slf4j"

conf=(
  --conf "spark.driver.extraJavaOptions=$opens $javacpp"
  --conf "spark.executor.extraJavaOptions=$opens $javacpp"
  --conf "spark.executor.memory=$heap"
  --conf "spark.executor.memoryOverhead=$native"
  # One training task per executor: each task slot loads its own copy of the base model.
  --conf "spark.executor.cores=${PEFT4J_EXECUTOR_CORES:-8}"
  --conf "spark.task.cpus=${PEFT4J_EXECUTOR_CORES:-8}"
  # A failed task (lost executor) is retried; the round then completes with the same result.
  --conf "spark.task.maxFailures=4"
  # oneDNN's threads allocate through malloc: one glibc arena per thread kept ~1 GB more resident (FINDINGS.md).
  --conf "spark.executorEnv.MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}"
  --conf "spark.yarn.appMasterEnv.MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}"
)
if $gpu; then
  # One GPU per executor and per task; the discovery script ships with Spark (examples/src/main/scripts).
  conf+=(
    --conf "spark.executor.resource.gpu.amount=1"
    --conf "spark.task.resource.gpu.amount=1"
    --conf "spark.executor.resource.gpu.discoveryScript=${SPARK_GPU_DISCOVERY:-/opt/spark/examples/src/main/scripts/getGpusResources.sh}"
  )
fi

exec "$submit" --class org.peft4j.job.cli.Main --name peft4j "${conf[@]}" "${spark_args[@]}" "$jar" train "$@"
