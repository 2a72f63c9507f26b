#!/usr/bin/env bash
# Measures tend's apiserver with ../shared/bench/apibench, the yardstick
# upstream's figures were taken with (see docs/benchmarks.md).
#
#   test/bench/apibench.sh [APIBENCH FLAGS...]      e.g. -proto, -phases create,list
#
# It builds tend and apibench, starts `tend server` on a free port with a fresh
# data directory, measures start to /readyz, runs the benchmark with the
# server's PID (for RSS readings), then stops the server and removes its files.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bench=${APIBENCH_DIR:-$root/../shared/bench/apibench}
[ -d "$bench" ] || { echo "apibench not found at $bench (set APIBENCH_DIR)" >&2; exit 2; }
work=$(mktemp -d /tmp/tend-apibench.XXXXXX)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

(cd "$root" && go build -o "$work/tend" ./cmd/tend)
(cd "$bench" && GOFLAGS=-mod=mod go build -o "$work/apibench" .)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')

start=$(date +%s%N)
"$work/tend" server --data-dir "$work/data" --secure-port "$port" >"$work/server.log" 2>&1 &
pid=$!
until curl -sfk "https://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
  kill -0 "$pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.005
done
end=$(date +%s%N)
echo "START to /readyz 200: $(( (end - start) / 1000000 )) ms (including process start)"
echo "RSS idle: $(awk '/VmRSS/ {print $2}' /proc/$pid/status) KiB"
"$work/apibench" -kubeconfig "$work/data/admin.kubeconfig" -pid "$pid" "$@"
