#!/usr/bin/env bash
# Where a training step's time goes: samples the trainer (TrainerBench, DJL) and its PyTorch eager peer
# (pytorch_trainer.py) with Linux perf while each runs the same steady-state steps, after a warm-up, and
# prints the share of CPU samples by library (libtorch kernels, MKL/OpenBLAS, the JVM and its JIT code,
# Python, libc...). Uses the cpu-clock software event: it works in VMs without hardware counters.
#
#   ops/bench/profile-trainer.sh [model=mlp] [batch=64] [views=1] [steps=2000]
#
# Needs perf (Debian: linux-perf) and a built CLI (mvn -B -q -pl cli -am package -DskipTests).
# OPENBLAS_LIB=DIR gives the PyTorch peer OpenBLAS (see run-trainer-bench.sh); without it the peer runs on
# the reference BLAS and is no fair peer. Output: one table per side, and perf data under $OUT (default
# /tmp/rehearsal-profile) for `perf report -i`.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
model=${1:-mlp} batch=${2:-64} views=${3:-1} steps=${4:-2000}
out=${OUT:-/tmp/rehearsal-profile}
mkdir -p "$out"
command -v perf >/dev/null || { echo "perf is not installed (apt-get install linux-perf)" >&2; exit 2; }
jar=$(ls "$here"/bench/target/rehearsal-bench-*.jar 2>/dev/null | grep -v -- "-sources\\|-tests" | head -1 || true)
[ -n "$jar" ] || { echo "build the CLI first: mvn -B -q -pl cli -am package -DskipTests" >&2; exit 2; }
export MALLOC_TRIM_THRESHOLD_=1073741824 MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TOP_PAD_=268435456
shim="$here/bench/target/native/libmkl_intel_cpu.so"

await_result() { # reads the server's output up to its next "result" line, into $line
  while read -r line <&"${SERVER[0]}"; do
    case "$line" in result*) return 0 ;; esac
  done
  echo "the server stopped without a result; see $out/$name.stderr" >&2
  exit 1
}

profile() { # name, command...
  local name=$1; shift
  coproc SERVER { exec "$@" 2>"$out/$name.stderr"; }
  local pid=$SERVER_PID line
  echo "run $model $batch $views 50" >&"${SERVER[1]}"
  await_result                                           # warm-up done
  perf record -q -e cpu-clock -F 499 -p "$pid" -o "$out/$name.data" 2>/dev/null &
  local perf_pid=$!
  sleep 1
  echo "run $model $batch $views $steps" >&"${SERVER[1]}"
  await_result
  kill -INT "$perf_pid"; wait "$perf_pid" || true
  eval "exec ${SERVER[1]}>&-"
  wait "$pid" 2>/dev/null || true
  echo "== $name: $line"
  perf report -q -i "$out/$name.data" --sort dso --stdio 2>/dev/null | grep -v '^$' | head -12
}

java_env=()
if [ -f "$shim" ]; then java_env=(env LD_PRELOAD="$shim"); fi
profile rehearsal "${java_env[@]}" java -Xmx1g -XX:+PreserveFramePointer -Dai.djl.offline=true \
  -cp "$jar:$here/bench/target/lib/*" io.rehearsal.bench.trainer.TrainerBench --serve 1
py_env=()
if [ -n "${OPENBLAS_LIB:-}" ]; then py_env=(env LD_LIBRARY_PATH="$OPENBLAS_LIB"); fi
profile pytorch "${py_env[@]}" /usr/bin/python3 "$here/ops/bench/pytorch_trainer.py" --serve --threads 1
