#!/usr/bin/env bash
# Builds the models module and measures prediction latency and predictions/s, in process and over HTTP.
#   ops/bench/run-predictor-bench.sh [seconds per case=5] [caller threads=2] [torch threads=1]
set -euo pipefail
cd "$(dirname "$0")/../.."
mvn -B -q -pl bench -am package -DskipTests dependency:build-classpath -Dmdep.outputFile=target/bench.classpath \
    -DincludeScope=runtime >/dev/null
cp="bench/target/classes:$(cat bench/target/bench.classpath)"
echo "== prediction latency ($(nproc) cores, $(uptime | sed 's/.*load/load/'))"
java -Dai.djl.offline=true -Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.rehearsal.schemas.avro -Xmx1g -cp "$cp" \
    io.rehearsal.bench.trainer.PredictionLatency "${1:-5}" "${2:-2}" "${3:-1}"
