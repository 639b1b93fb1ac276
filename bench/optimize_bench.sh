#!/usr/bin/env bash
# What `inferd optimize` gains on its fixtures, in two parts.
# 1. The forest (bench/models/forest_300: 300 trees of depth 6 trained far past the point where
# the holdout AUC stops improving). Each round runs
# `inferd optimize --dry-run --json` on core 0, which measures the source and every candidate in
# the same run (in process, one thread: the engine's time without HTTP) and picks the fastest at
# batch 1 within the budget. Prints, per round and as medians, the chosen candidate's ROC AUC drop
# (goal: <= 0.002) and its speed-ups at batch 1 (goal: >= 2x) and at batch 256. Then the choice
# is checked on rows it did not see: optimize on the first half of the holdout, `inferd validate`
# the result against the source on the second half.
#
#   bench/optimize_bench.sh [BUILD_DIR] [ROUNDS]
set -euo pipefail
BUILD_DIR=${1:-build}
ROUNDS=${2:-5}
source "$(dirname "$0")/common.sh"
mkdir -p "$tmp/repo/f"
cp -r "$ROOT/bench/models/forest_300/1" "$tmp/repo/f/"
for round in $(seq "$ROUNDS"); do
  taskset -c 0 "$INFERD" --log-level warn optimize f@1 --model-repository "$tmp/repo" \
    --data "$ROOT/bench/models/forest_300/holdout.csv" --label y --max-metric-drop 0.002 \
    --dry-run --json --latency-seconds 1 2>/dev/null
done | python3 -c '
import json, statistics, sys
rows = []
for line in sys.stdin:
    r = json.loads(line)
    src = r["source"]
    c = next(c for c in r["candidates"] if c["name"] == r["chosen"])
    b1 = src["batch_1"]["p50_us"] / c["batch_1"]["p50_us"]
    b256 = src["large_batch"]["p50_us"] / c["large_batch"]["p50_us"]
    rows.append((c["drop"], b1, b256))
    s1, c1 = src["batch_1"]["p50_us"], c["batch_1"]["p50_us"]
    s2, c2 = src["large_batch"]["p50_us"], c["large_batch"]["p50_us"]
    print("round %d: %s: drop %.4f, batch 1 %.2f -> %.2f us (%.2fx), batch 256 %.1f -> %.1f us (%.2fx)"
          % (len(rows), c["name"], c["drop"], s1, c1, b1, s2, c2, b256))
med = lambda i: statistics.median(r[i] for r in rows)
print(f"optimize forest_300 (ROC AUC budget 0.002): median drop {med(0):.4f}, "
      f"batch-1 speed-up {med(1):.2f}x (goal >= 2), batch-256 speed-up {med(2):.2f}x "
      f"(min..max batch 1: {min(r[1] for r in rows):.2f}..{max(r[1] for r in rows):.2f})")
'

# Rows the choice did not see.
H="$ROOT/bench/models/forest_300/holdout.csv"
head -n 2001 "$H" > "$tmp/a.csv"
{ head -n 1 "$H"; tail -n +2002 "$H"; } > "$tmp/b.csv"
"$INFERD" --log-level warn optimize f@1 --model-repository "$tmp/repo" --data "$tmp/a.csv" \
  --label y --max-metric-drop 0.002 --latency-seconds 0.2 2>/dev/null | grep '^chosen'
"$INFERD" --log-level warn validate f@2 --model-repository "$tmp/repo" --data "$tmp/b.csv" \
  --label y --against 1 --json --latency-seconds 0.2 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)
print("on the 2,000 rows it did not see: ROC AUC %.4f vs the source %.4f (drop %.4f)"
      % (r["metrics"]["roc_auc"], r["against"]["metrics"]["roc_auc"],
         r["against"]["metrics"]["roc_auc"] - r["metrics"]["roc_auc"]))'

# 2. The MLP, int8.
mkdir -p "$tmp/repo/mlp"
cp -r "$ROOT/bench/models/mlp_512/1" "$tmp/repo/mlp/"
for isa in native AVX2; do
for round in $(seq "$ROUNDS"); do
  if [[ $isa == native ]]; then unset ONEDNN_MAX_CPU_ISA; else export ONEDNN_MAX_CPU_ISA=$isa; fi
  taskset -c 0 "$INFERD" --log-level warn optimize mlp@1 --model-repository "$tmp/repo" \
    --data "$ROOT/bench/models/mlp_512/holdout.csv" --label y --max-metric-drop 0.005 \
    --objective large --dry-run --json --latency-seconds 1 2>/dev/null
done | ISA=$isa python3 -c '
import json, os, statistics, sys
rows = []
for line in sys.stdin:
    r = json.loads(line)
    src = r["source"]
    c = next(c for c in r["candidates"] if c["name"] == r["chosen"])
    b1 = src["batch_1"]["p50_us"] / c["batch_1"]["p50_us"]
    b256 = src["large_batch"]["p50_us"] / c["large_batch"]["p50_us"]
    rows.append((c["drop"], b1, b256))
    print("round %d: %s: accuracy %.4f -> %.4f (drop %.4f), batch 256 %.1f -> %.1f us (%.2fx), "
          "batch 1 %.2f -> %.2f us (%.2fx)"
          % (len(rows), c["name"], src["metric"], c["metric"], c["drop"], src["large_batch"]["p50_us"],
             c["large_batch"]["p50_us"], b256, src["batch_1"]["p50_us"], c["batch_1"]["p50_us"], b1))
med = lambda i: statistics.median(r[i] for r in rows)
print("optimize mlp_512 int8, oneDNN ISA %s (accuracy budget 0.005): median drop %.4f, batch-256 "
      "speed-up %.2fx (goal >= 1.3; min..max %.2f..%.2f), batch-1 %.2fx"
      % (os.environ["ISA"], med(0), med(2), min(r[2] for r in rows), max(r[2] for r in rows), med(1)))
'
done
unset ONEDNN_MAX_CPU_ISA
