#!/usr/bin/env bash
# HTTP throughput of `inferd serve` with one event loop per core (per-core) vs one shared event loop
# (shared), measured with wrk in the same run, on the same request. Prints requests/s, latency and
# the per-core/shared ratio.
#
#   bench/http_bench.sh [BUILD_DIR] [DURATION_SECS] [CONNECTIONS]
set -euo pipefail
BUILD_DIR=${1:-build}
DURATION=${2:-10}
CONNS=${3:-64}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
INFERD="$ROOT/$BUILD_DIR/inferd"
command -v wrk >/dev/null || { echo "wrk is missing: scripts/install-deps.sh bench" >&2; exit 1; }
[ -x "$INFERD" ] || { echo "$INFERD is missing: make build" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
cat > "$tmp/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$ROOT/examples/requests/breast_cancer.json", "r")
wrk.body = f:read("*a")
f:close()
LUA

run() {  # mode -> prints "reqs/s p50 p99"
  local mode=$1
  "$INFERD" --log-level warn serve --model-repository "$ROOT/examples/models" --host 127.0.0.1 \
    --http-port 0 --http-io-mode "$mode" > "$tmp/$mode.out" &
  local pid=$!
  for _ in $(seq 100); do grep -q "listening" "$tmp/$mode.out" 2>/dev/null && break; sleep 0.05; done
  local port
  port=$(sed -n 's/.*HTTP listening on .*:\([0-9]*\)$/\1/p' "$tmp/$mode.out")
  wrk -t2 -c"$CONNS" -d1s -s "$tmp/post.lua" "http://127.0.0.1:$port/v2/models/breast_cancer/infer" >/dev/null
  wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s "$tmp/post.lua" \
    "http://127.0.0.1:$port/v2/models/breast_cancer/infer" > "$tmp/$mode.wrk"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$tmp/$mode.wrk")
  p50=$(awk '$1=="50%" {print $2}' "$tmp/$mode.wrk")
  p99=$(awk '$1=="99%" {print $2}' "$tmp/$mode.wrk")
  echo "$rps $p50 $p99"
}

echo "inferd HTTP bench: POST /v2/models/breast_cancer/infer (1 row, 30 features), wrk -t2 -c$CONNS -d${DURATION}s"
echo "machine: $(nproc) cores, $(uname -r); $(date -u +%Y-%m-%dT%H:%MZ)"
read -r pc_rps pc_p50 pc_p99 < <(run per-core)
read -r sh_rps sh_p50 sh_p99 < <(run shared)
printf "%-10s %12s %10s %10s\n" mode "requests/s" p50 p99
printf "%-10s %12s %10s %10s\n" per-core "$pc_rps" "$pc_p50" "$pc_p99"
printf "%-10s %12s %10s %10s\n" shared "$sh_rps" "$sh_p50" "$sh_p99"
awk -v a="$pc_rps" -v b="$sh_rps" 'BEGIN {printf "ratio per-core/shared throughput: %.2f\n", a/b}'
