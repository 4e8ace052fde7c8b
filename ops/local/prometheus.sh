#!/usr/bin/env bash
# Runs a real Prometheus (Debian: apt-get install prometheus) against rehearsal processes on this
# machine, with rehearsal's recording and alert rules, keeping its data in a temporary directory that
# is removed when it stops (Ctrl-C).
#
#   ./rehearsal demo &                  # serves /metrics on :9400
#   ops/local/prometheus.sh             # scrapes it; open the URL it prints
#
#   ops/local/prometheus.sh --target curator=localhost:9401 --target trainer=localhost:9402 \
#       --target predictor=localhost:9403          # the components as separate processes
#
# Options:
#   --target NAME=HOST:PORT   scrape http://HOST:PORT/metrics as job rehearsal-NAME (repeatable;
#                             default: demo=localhost:9400)
#   --listen HOST:PORT        Prometheus' own address (default 127.0.0.1:9090)
#   --interval DURATION       scrape and rule evaluation interval (default 5s)
#   --data DIR                keep the data in DIR (default: a temporary directory, removed at exit)
#   --config FILE             use this configuration instead of writing one (e.g. ops/prometheus/prometheus.yml)
# Environment: PROMETHEUS (default: prometheus on PATH, else /usr/bin/prometheus), PROMTOOL likewise.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
rules="$(cd "$here/../prometheus" && pwd)/rules.yml"

targets=()
listen="127.0.0.1:9090"
interval="5s"
data=""
config=""
while [ $# -gt 0 ]; do
  case "$1" in
    --target) targets+=("$2"); shift 2 ;;
    --listen) listen="$2"; shift 2 ;;
    --interval) interval="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --config) config="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "prometheus.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("demo=localhost:9400")

find_tool() { # name -> path, or empty
  local name="$1" env="$2"
  if [ -n "$env" ]; then echo "$env"; elif command -v "$name" >/dev/null 2>&1; then command -v "$name";
  elif [ -x "/usr/bin/$name" ]; then echo "/usr/bin/$name"; fi
}
prometheus="$(find_tool prometheus "${PROMETHEUS:-}")"
promtool="$(find_tool promtool "${PROMTOOL:-}")"
if [ -z "$prometheus" ]; then
  echo "prometheus.sh: no prometheus binary; install Debian's package (sudo apt-get install prometheus) or set PROMETHEUS" >&2
  exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/rehearsal-prometheus.XXXXXX")"
child=""
cleanup() {
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

if [ -z "$config" ]; then
  config="$work/prometheus.yml"
  {
    echo "# written by ops/local/prometheus.sh"
    echo "global:"
    echo "  scrape_interval: $interval"
    echo "  evaluation_interval: $interval"
    echo "rule_files:"
    echo "  - \"$rules\""
    echo "scrape_configs:"
    for t in "${targets[@]}"; do
      name="${t%%=*}"; address="${t#*=}"
      if [ "$name" = "$t" ] || [ -z "$name" ] || [ -z "$address" ]; then
        echo "prometheus.sh: --target wants NAME=HOST:PORT, got $t" >&2; exit 2
      fi
      echo "  - job_name: rehearsal-$name"
      echo "    static_configs:"
      echo "      - targets: [\"$address\"]"
    done
  } > "$config"
fi
if [ -n "$promtool" ]; then
  "$promtool" check config "$config" >/dev/null
fi
[ -n "$data" ] || data="$work/data"
mkdir -p "$data"

echo "Prometheus UI: http://$listen  (targets: http://$listen/targets, alerts: http://$listen/alerts)"
echo "config $config; data $data; scraping: ${targets[*]}"
"$prometheus" --config.file="$config" --storage.tsdb.path="$data" --storage.tsdb.retention.time=2d \
  --web.listen-address="$listen" --web.enable-lifecycle --log.level=warn &
child=$!
wait "$child"
