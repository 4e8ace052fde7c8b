#!/usr/bin/env bash
# Builds the models module and runs the trainer benchmarks beside plain PyTorch.
#   ops/bench/run-trainer-bench.sh [threads=1] [steps=300] [memory-steps=20000]
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=${1:-1}
steps=${2:-300}
memory_steps=${3:-20000}
mvn -B -q -pl bench -am package -DskipTests dependency:build-classpath -Dmdep.outputFile=target/bench.classpath \
    -DincludeScope=runtime >/dev/null
cp="bench/target/classes:$(cat bench/target/bench.classpath)"
java_opts=(-Dai.djl.offline=true -Xmx1g)
echo "== throughput (uptime: $(uptime | sed 's/.*load/load/'))"
java "${java_opts[@]}" -cp "$cp" io.rehearsal.bench.trainer.TrainerThroughput "$threads" "$steps"
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    /usr/bin/python3 ops/bench/pytorch_mlp.py --threads "$threads" --steps "$steps"
    # Debian's python3-torch is built with BLAS_INFO=generic: without libopenblas0 installed its matrix
    # products run on netlib's reference BLAS, ~15x slower. For a fair baseline without changing the
    # system, unpack OpenBLAS somewhere and point OPENBLAS_LIB at it:
    #   apt-get download libopenblas0-pthread && dpkg -x libopenblas0-pthread_*.deb /tmp/openblas
    #   OPENBLAS_LIB=/tmp/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread ops/bench/run-trainer-bench.sh
    if [ -n "${OPENBLAS_LIB:-}" ]; then
        echo "(PyTorch with OpenBLAS from $OPENBLAS_LIB)"
        LD_LIBRARY_PATH="$OPENBLAS_LIB" OPENBLAS_NUM_THREADS="$threads" \
            /usr/bin/python3 ops/bench/pytorch_mlp.py --threads "$threads" --steps "$steps"
    fi
else
    echo "pytorch: skipped (no /usr/bin/python3 with torch; apt-get install python3-torch)"
fi
if [ "$memory_steps" -gt 0 ]; then
    echo "== memory over $memory_steps steps"
    java "${java_opts[@]}" -XX:NativeMemoryTracking=summary -cp "$cp" io.rehearsal.bench.trainer.MemoryFootprint \
        "$memory_steps" "$threads"
fi
