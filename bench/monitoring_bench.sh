#!/usr/bin/env bash
# What monitoring costs serving: one `inferd serve` (core 0, one HTTP thread) serves the same
# 100-tree forest (30 features) as two models, `plain` without monitoring and `watched` with
# monitoring on (10% input logging, drift on its 30 features against a profile.json made by
# `inferd profile`). `inferd bench` (core 1, closed loop, 64 connections) measures each in turn,
# ROUNDS times; prints the median throughput ratio watched / plain (goal: >= 0.90, i.e. monitoring
# costs <= 10%) and what the monitor recorded (stored, dropped).
#
#   bench/monitoring_bench.sh [BUILD_DIR] [ROUNDS] [SECONDS]
set -euo pipefail
BUILD_DIR=${1:-build}
ROUNDS=${2:-5}
SECONDS_PER_RUN=${3:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
INFERD="$ROOT/$BUILD_DIR/inferd"
[ -x "$INFERD" ] || { echo "$INFERD is missing: make build" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is missing: scripts/install-deps.sh bench" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
for m in plain watched; do
  mkdir -p "$tmp/repo/$m/1"
  cp "$ROOT/bench/models/binary_100x6/model.json" "$tmp/repo/$m/1/"
done
# Training-like data for the profile: 30 features in [0, 1).
python3 - "$tmp/train.csv" <<'PY'
import random, sys
random.seed(1)
with open(sys.argv[1], "w") as f:
    f.write(",".join(f"f{i}" for i in range(30)) + "\n")
    for _ in range(5000):
        f.write(",".join(f"{random.random():.6f}" for _ in range(30)) + "\n")
PY
"$INFERD" --log-level warn profile --data "$tmp/train.csv" --out "$tmp/repo/watched/profile.json" 2>/dev/null
printf 'monitoring: {log_sample_rate: 0.1}\n' > "$tmp/repo/watched/config.yaml"
taskset -c 0 "$INFERD" --log-level warn serve --model-repository "$tmp/repo" --state "$tmp/state" \
  --host 127.0.0.1 --http-port 0 --http-threads 1 > "$tmp/out" &
for _ in $(seq 200); do grep -q "HTTP listening" "$tmp/out" 2>/dev/null && break; sleep 0.05; done
PORT=$(sed -n 's/.*HTTP listening on .*:\([0-9]*\)$/\1/p' "$tmp/out")
URL="http://127.0.0.1:$PORT"

run() {  # throughput of one closed-loop run against model $1
  taskset -c 1 "$INFERD" --log-level warn bench "$URL" --model "$1" --concurrency 64 \
    --duration "$SECONDS_PER_RUN" --warmup 1 --json |
    python3 -c 'import json,sys; r=json.loads(sys.stdin.readline()); assert r["errors"]==0, r; print(r["throughput"])'
}
: > "$tmp/ratios"
for _ in $(seq "$ROUNDS"); do
  off=$(run plain)
  on=$(run watched)
  echo "$off $on" >> "$tmp/ratios"
done
python3 - "$tmp/ratios" "$URL" <<'PY'
import json, statistics, sys, urllib.request
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
ratios = [on / off for off, on in rows]
m = json.load(urllib.request.urlopen(sys.argv[2] + "/v2/models/watched/monitor"))
print("round  plain req/s  watched req/s  ratio")
for i, ((off, on), r) in enumerate(zip(rows, ratios)):
    print(f"{i + 1:5d}  {off:11.0f}  {on:13.0f}  {r:5.3f}")
print(f"throughput with monitoring / without: median {statistics.median(ratios):.3f} "
      f"(min {min(ratios):.3f}, max {max(ratios):.3f}) (goal >= 0.90)")
rec = m["records"]
total = rec["stored"] + rec["dropped"]
print(f"monitor: {rec['stored']} records stored, {rec['dropped']} dropped "
      f"({100.0 * rec['dropped'] / max(total, 1):.1f}%), drift rows {m['drift']['versions'].get('1', {}).get('rows', 0)}")
PY
