#!/usr/bin/env bash
# What `inferd optimize` gains on its fixtures. Each round runs `inferd optimize --dry-run --json`
# on core 0, which measures the source and every candidate in the same run (in process, one
# thread: the engine's time without HTTP) and picks the best within the budget. Prints, per round
# and as medians, the chosen candidate's metric drop and its speed-ups at batch 1 and 256.
# 1. The forest (bench/models/forest_300: 300 trees of depth 6 trained far past the point where
#    the holdout AUC stops improving), objective `balanced`. Goals: ROC AUC drop <= 0.002, >= 2x
#    at batch 1. Then the choice is checked on rows it did not see: optimize on the first half of
#    the holdout, `inferd validate` the result against the source on the second half.
# 2. The MLP (bench/models/mlp_512: 64 -> 512 -> 512 -> 10, FP32): int8 dynamic quantization, with
#    the objective `large`. Goals: accuracy drop <= 0.005 (0.5%), >= 1.3x at batch 256. It runs
#    twice: with oneDNN free to use what this CPU has, and with ONEDNN_MAX_CPU_ISA=AVX2 (oneDNN's
#    AVX2 kernels only: no VNNI, the int8 case the issue names), for the FP32 source and the int8
#    candidates alike.
#
#   bench/optimize_bench.sh [BUILD_DIR] [ROUNDS]
set -euo pipefail
BUILD_DIR=${1:-build}
ROUNDS=${2:-5}
source "$(dirname "$0")/common.sh"

# ROUNDS dry runs of `inferd optimize MODEL@1 --data HOLDOUT --label y ARGS...`, summarized.
rounds() {
  local model=$1 holdout=$2 title=$3
  shift 3
  for _ in $(seq "$ROUNDS"); do
    taskset -c 0 "$INFERD" --log-level warn optimize "$model@1" --model-repository "$tmp/repo" \
      --data "$holdout" --label y --dry-run --json --latency-seconds 1 "$@" 2>/dev/null
  done | TITLE=$title python3 -c '
import json, os, statistics, sys
rows = []
for line in sys.stdin:
    r = json.loads(line)
    src = r["source"]
    c = next(c for c in r["candidates"] if c["name"] == r["chosen"])
    s1, c1 = src["batch_1"]["p50_us"], c["batch_1"]["p50_us"]
    s2, c2 = src["large_batch"]["p50_us"], c["large_batch"]["p50_us"]
    rows.append((c["drop"], s1 / c1, s2 / c2))
    print("round %d: %s: %s %.4f -> %.4f (drop %.4f), batch 1 %.2f -> %.2f us (%.2fx), "
          "batch 256 %.1f -> %.1f us (%.2fx)"
          % (len(rows), c["name"], r["metric"], src["metric"], c["metric"], c["drop"], s1, c1,
             s1 / c1, s2, c2, s2 / c2))
med = lambda i: statistics.median(r[i] for r in rows)
span = lambda i: "%.2f..%.2f" % (min(r[i] for r in rows), max(r[i] for r in rows))
print("%s: median drop %.4f, batch-1 speed-up %.2fx (%s), batch-256 speed-up %.2fx (%s)"
      % (os.environ["TITLE"], med(0), med(1), span(1), med(2), span(2)))
'
}

# 1. The forest.
H="$ROOT/bench/models/forest_300/holdout.csv"
mkdir -p "$tmp/repo/f"
cp -r "$ROOT/bench/models/forest_300/1" "$tmp/repo/f/"
rounds f "$H" "optimize forest_300 (ROC AUC budget 0.002; goals: drop <= 0.002, batch 1 >= 2x)" \
  --max-metric-drop 0.002
# Rows the choice did not see.
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
  if [[ $isa == native ]]; then unset ONEDNN_MAX_CPU_ISA; else export ONEDNN_MAX_CPU_ISA=$isa; fi
  rounds mlp "$ROOT/bench/models/mlp_512/holdout.csv" \
    "optimize mlp_512 int8, oneDNN ISA $isa (goals: accuracy drop <= 0.005, batch 256 >= 1.3x)" \
    --max-metric-drop 0.005 --objective large
done
unset ONEDNN_MAX_CPU_ISA
