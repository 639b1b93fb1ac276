#!/usr/bin/env bash
# The gRPC path against its limit on this machine: `inferd serve --grpc-port` answering batch-1
# ModelInfer calls on the 100-tree forest vs a bare gRPC server of the same .proto answering a
# canned reply (build/bench/grpc_peer), each pinned to core 0, the load generator (`inferd bench
# --grpc`, a connection per client) pinned to core 1, in one run. Both typed contents and
# raw_input_contents (--binary). Prints the ratio; the goal is >= 0.8.
#
#   bench/grpc_bench.sh [BUILD_DIR] [DURATION_SECS] [CONCURRENCY]
set -euo pipefail
BUILD_DIR=${1:-build}
DURATION=${2:-10}
CONCURRENCY=${3:-64}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
INFERD="$ROOT/$BUILD_DIR/inferd"
PEER="$ROOT/$BUILD_DIR/bench/grpc_peer"
[ -x "$INFERD" ] || { echo "$INFERD is missing: make build" >&2; exit 1; }
[ -x "$PEER" ] || { echo "$PEER is missing: make bench" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "needs 2 cores (server and client pinned apart)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/repo/forest/1"
cp "$ROOT/bench/models/binary_100x6/model.json" "$tmp/repo/forest/1/"

taskset -c 0 "$INFERD" --log-level warn serve --model-repository "$tmp/repo" --host 127.0.0.1 \
  --http-port 0 --grpc-port 0 > "$tmp/inferd.out" &
INFERD_PID=$!
for _ in $(seq 200); do grep -q "HTTP listening" "$tmp/inferd.out" 2>/dev/null && break; sleep 0.05; done
GPORT=$(sed -n 's/.*gRPC listening on .*:\([0-9]*\)$/\1/p' "$tmp/inferd.out")
taskset -c 0 "$PEER" "$tmp/peer.port" &
PEER_PID=$!
for _ in $(seq 200); do [ -s "$tmp/peer.port" ] && break; sleep 0.05; done
PPORT=$(cat "$tmp/peer.port")

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# The load generator may saturate its core before the server does: besides throughput, the
# server's CPU time per answered call (from /proc, over the measured run) is compared.
measure() {  # port binary-flag pid -> "rps p50 p99 cpu_us_per_call"
  taskset -c 1 "$INFERD" --log-level warn bench "127.0.0.1:$1" --grpc --model forest $2 \
    --concurrency "$CONCURRENCY" --warmup 0 --duration 2 --json > /dev/null
  local before after
  before=$(cpu_ticks "$3")
  taskset -c 1 "$INFERD" --log-level warn bench "127.0.0.1:$1" --grpc --model forest $2 \
    --concurrency "$CONCURRENCY" --warmup 0 --duration "$DURATION" --json > "$tmp/run.json"
  after=$(cpu_ticks "$3")
  python3 - "$tmp/run.json" "$before" "$after" "$(getconf CLK_TCK)" <<'PY'
import json, sys
l = json.loads(open(sys.argv[1]).readline())
calls = l["ok"] + l["errors"]
cpu_us = (int(sys.argv[3]) - int(sys.argv[2])) / int(sys.argv[4]) * 1e6
print(l["throughput"], l["p50_us"], l["p99_us"], cpu_us / max(calls, 1))
PY
}

echo "gRPC ModelInfer, batch 1, $CONCURRENCY clients, server on core 0, client on core 1, ${DURATION}s"
printf '%-20s %10s %10s %8s %8s %8s %10s %10s %9s\n' contents "inferd/s" "peer/s" ratio \
  "p50 us" "p99 us" "cpu us" "peer cpu" "cpu ratio"
for mode in typed binary; do
  flag=""; [ "$mode" = binary ] && flag="--binary"
  read -r irps ip50 ip99 icpu <<<"$(measure "$GPORT" "$flag" "$INFERD_PID")"
  read -r prps _ _ pcpu <<<"$(measure "$PPORT" "$flag" "$PEER_PID")"
  label=$([ "$mode" = binary ] && echo raw_input_contents || echo typed)
  # cpu ratio: the peer's CPU per call over inferd's (1 = as cheap as the bare server).
  python3 -c "print(f'%-20s %10.0f %10.0f %7.2fx %8.0f %8.0f %10.1f %10.1f %8.2fx' % \
    ('$label', $irps, $prps, $irps / $prps, $ip50, $ip99, $icpu, $pcpu, $pcpu / $icpu))"
done
