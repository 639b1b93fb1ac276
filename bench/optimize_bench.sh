#!/usr/bin/env bash
# What `inferd optimize` gains on the forest fixture (bench/models/forest_300: 300 trees of depth
# 6 trained far past the point where the holdout AUC stops improving). Each round runs
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
