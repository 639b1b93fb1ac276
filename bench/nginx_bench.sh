#!/usr/bin/env bash
# The HTTP path against its limit on this machine: `inferd serve` answering batch-1 JSON requests
# on a 100-tree forest vs nginx answering `return 200` with a body of the same size, each pinned
# to core 0 with one worker thread, wrk pinned to core 1 (64 keep-alive connections), in one run.
# Then the p99 latency of inferd at half its measured peak rate (inferd bench --rate, open loop).
#
#   bench/nginx_bench.sh [BUILD_DIR] [DURATION_SECS]
set -euo pipefail
BUILD_DIR=${1:-build}
DURATION=${2:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
INFERD="$ROOT/$BUILD_DIR/inferd"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
command -v wrk >/dev/null || { echo "wrk is missing: scripts/install-deps.sh bench" >&2; exit 1; }
[ -x "$NGINX" ] || { echo "nginx is missing: scripts/install-deps.sh bench" >&2; exit 1; }
[ -x "$INFERD" ] || { echo "$INFERD is missing: make build" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "needs 2 cores (server and client pinned apart)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/repo/forest/1"
cp "$ROOT/bench/models/binary_100x6/model.json" "$tmp/repo/forest/1/"
# One row of 30 features.
python3 - "$tmp/request.json" <<'PY' 2>/dev/null || printf '%s' \
  '{"inputs":[{"name":"input","shape":[1,30],"datatype":"FP32","data":[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]}]}' > "$tmp/request.json"
import json, random, sys
random.seed(3)
json.dump({"inputs": [{"name": "input", "shape": [1, 30], "datatype": "FP32",
                       "data": [round(random.random(), 4) for _ in range(30)]}]},
          open(sys.argv[1], "w"), separators=(",", ":"))
PY
cat > "$tmp/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$tmp/request.json", "r")
wrk.body = f:read("*a")
f:close()
LUA

wait_port() {  # file -> port
  for _ in $(seq 200); do grep -q "HTTP listening" "$1" 2>/dev/null && break; sleep 0.05; done
  sed -n 's/.*HTTP listening on .*:\([0-9]*\)$/\1/p' "$1"
}

taskset -c 0 "$INFERD" --log-level warn serve --model-repository "$tmp/repo" --host 127.0.0.1 \
  --http-port 0 --http-threads 1 > "$tmp/inferd.out" &
INFERD_PID=$!
PORT=$(wait_port "$tmp/inferd.out")
URL="http://127.0.0.1:$PORT/v2/models/forest/infer"
BODY=$(curl -s "$URL" -d @"$tmp/request.json")
BYTES=${#BODY}

# nginx: one worker on core 0, answering every request with a body of the same size.
NPORT=$((PORT + 1))
source "$(dirname "$0")/nginx_return200.sh"
start_nginx_return200 "$tmp" "$NPORT" "$BYTES"

measure() {  # url -> "rps p50 p99"
  taskset -c 1 wrk -t1 -c64 -d2s -s "$tmp/post.lua" "$1" > /dev/null
  taskset -c 1 wrk -t1 -c64 -d"${DURATION}s" --latency -s "$tmp/post.lua" "$1" > "$tmp/wrk.txt"
  echo "$(awk '/Requests\/sec/ {print $2}' "$tmp/wrk.txt") \
$(awk '$1=="50%" {print $2}' "$tmp/wrk.txt") $(awk '$1=="99%" {print $2}' "$tmp/wrk.txt")"
}

echo "HTTP limit bench: POST of 1 row (30 features) to a 100-tree forest; response $BYTES bytes"
echo "server and nginx on core 0 (1 thread / 1 worker), wrk -t1 -c64 on core 1, ${DURATION}s"
echo "machine: $(nproc) cores, $(uname -r); $(date -u +%Y-%m-%dT%H:%MZ)"
read -r I_RPS I_P50 I_P99 < <(measure "$URL")
read -r N_RPS N_P50 N_P99 < <(measure "http://127.0.0.1:$NPORT/")
printf "%-8s %12s %10s %10s\n" server "requests/s" p50 p99
printf "%-8s %12s %10s %10s\n" inferd "$I_RPS" "$I_P50" "$I_P99"
printf "%-8s %12s %10s %10s\n" nginx "$N_RPS" "$N_P50" "$N_P99"
awk -v a="$I_RPS" -v b="$N_RPS" 'BEGIN {printf "ratio inferd/nginx throughput: %.2f (goal >= 0.7)\n", a/b}'

# p99 at half the peak, open loop.
HALF=$(awk -v a="$I_RPS" 'BEGIN {printf "%d", a / 2}')
taskset -c 1 "$INFERD" bench "http://127.0.0.1:$PORT" --model forest --concurrency 64 \
  --rate "$HALF" --duration "$DURATION" --warmup 1 --json > "$tmp/half.json"
P99=$(sed -n 's/.*"p99_us": \([0-9.]*\).*/\1/p' "$tmp/half.json")
echo "inferd at half its peak ($HALF requests/s, open loop): p99 ${P99} us (goal <= 1000 us)"
