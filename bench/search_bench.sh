#!/usr/bin/env bash
# `inferd search` against its goal: 30 trials on a 10,000-row dataset (20 features, a nonlinear
# binary target with noise; written here by a seeded generator) within 2 minutes on this
# machine's cores, and the chosen model meeting the latency budget when served. The search runs
# with --latency-budget-us BUDGET (batch-1 median, in process); the chosen version is then served
# (`inferd serve`, one HTTP thread, core 0) and loaded at concurrency 1, batch 1, by `inferd bench`
# (core 1), which reports the server's own compute time per request (Triton statistics): that
# served compute time is compared with the budget.
#
#   bench/search_bench.sh [BUILD_DIR] [BUDGET_US]
set -euo pipefail
BUILD_DIR=${1:-build}
BUDGET=${2:-0.8}
SECONDS_PER_RUN=3
source "$(dirname "$0")/common.sh"
python3 - "$tmp/train.csv" <<'PY'
import math, random, sys
rng = random.Random(7)
with open(sys.argv[1], "w") as out:
    out.write(",".join(f"x{i}" for i in range(20)) + ",y\n")
    for _ in range(10000):
        x = [rng.gauss(0, 1) for _ in range(20)]
        z = (x[0] * x[1] + math.sin(2 * x[2]) + 0.8 * x[3] - 0.6 * abs(x[4]) + 0.4 * sum(x[5:10])
             + rng.gauss(0, 0.7))
        out.write(",".join("%.4f" % v for v in x) + ",%d\n" % (z > 0.3))
PY
start=$(date +%s.%N)
"$INFERD" --log-level warn search --data "$tmp/train.csv" --label y --task binary --trials 30 \
  --latency-budget-us "$BUDGET" --save-to "$tmp/repo/m" --plot "$tmp/pareto.svg" --json \
  2>/dev/null > "$tmp/search.json"
end=$(date +%s.%N)
start_inferd "$tmp/repo"
taskset -c 1 "$INFERD" --log-level warn bench "$URL" --model m --concurrency 1 \
  --duration "$SECONDS_PER_RUN" --warmup 1 --json > "$tmp/bench.json"
python3 - "$tmp/search.json" "$tmp/bench.json" "$start" "$end" "$BUDGET" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
b = json.loads(open(sys.argv[2]).readline())
elapsed = float(sys.argv[4]) - float(sys.argv[3])
budget = float(sys.argv[5])
chosen = next(t for t in s["trials"] if t["trial"] == s["chosen"])
feasible = sum(t["feasible"] for t in s["trials"])
print("search: 30 trials on 10,000 rows in %.1f s (goal < 120 s: %.2f of it); %d of 30 within "
      "the %.2f us budget" % (elapsed, elapsed / 120, feasible, budget))
print("chosen: trial %d, ROC AUC %.4f, %.2f us in process (%d rounds)"
      % (chosen["trial"], chosen["metric"], chosen["latency_us"], chosen["rounds"]))
print("served: compute %.2f us per request (budget %.2f us: %.2f of it); end to end p50 %.0f us, "
      "p99 %.0f us over HTTP" % (b["server_compute_us"], budget, b["server_compute_us"] / budget,
                                  b["p50_us"], b["p99_us"]))
PY
