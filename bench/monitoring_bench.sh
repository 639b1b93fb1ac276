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
source "$(dirname "$0")/common.sh"
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
start_inferd "$tmp/repo"
: > "$tmp/ratios"
for _ in $(seq "$ROUNDS"); do
  off=$(throughput plain)
  on=$(throughput watched)
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
