#!/usr/bin/env bash
# Builds the models module and measures prediction latency and predictions/s, in process and over HTTP.
#   ops/bench/run-predictor-bench.sh [seconds per case=5] [caller threads=2] [torch threads=1]
set -euo pipefail
cd "$(dirname "$0")/../.."
mvn -B -q -pl models -am package -DskipTests dependency:build-classpath -Dmdep.outputFile=target/models.classpath \
    -DincludeScope=runtime >/dev/null
cp="models/target/classes:$(cat models/target/models.classpath)"
echo "== prediction latency ($(nproc) cores, $(uptime | sed 's/.*load/load/'))"
java -Dai.djl.offline=true -Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.rehearsal.schemas.avro -Xmx1g -cp "$cp" \
    io.rehearsal.models.bench.PredictionLatency "${1:-5}" "${2:-2}" "${3:-1}"
