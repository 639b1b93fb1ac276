#!/usr/bin/env bash
# What shadow traffic costs the primary: `inferd serve` (core 0, one HTTP thread) serves a model
# with two versions; `inferd bench` (core 1, closed loop, 64 connections) measures its peak
# throughput with the shadow off and with every request mirrored to version 2 (`inferd rollout
# shadow --percent 100`), alternating ROUNDS times in the same server. Prints the median ratio
# (goal: shadow at 100% costs <= 15% of the primary's throughput, i.e. ratio >= 0.85) and the
# shadow's own counts (pairs compared, dropped when its queue was full).
#
#   bench/shadow_bench.sh [BUILD_DIR] [ROUNDS] [SECONDS]
set -euo pipefail
BUILD_DIR=${1:-build}
ROUNDS=${2:-5}
SECONDS_PER_RUN=${3:-3}
source "$(dirname "$0")/common.sh"
mkdir -p "$tmp/repo/m/1" "$tmp/repo/m/2"
cp "$ROOT/bench/models/binary_100x6/model.json" "$tmp/repo/m/1/"
cp "$ROOT/bench/models/binary_100x6/model.json" "$tmp/repo/m/2/"
printf 'version_policy: {all: true}\nrollout: {labels: {stable: 1}, weights: {stable: 100}}\n' \
  > "$tmp/repo/m/config.yaml"
start_inferd "$tmp/repo"
shadow() { "$INFERD" --log-level warn rollout shadow m --server "$URL" "$@" > /dev/null; }
: > "$tmp/ratios"
for _ in $(seq "$ROUNDS"); do
  shadow --percent 0
  off=$(throughput m)
  shadow --version 2 --percent 100
  on=$(throughput m)
  echo "$off $on" >> "$tmp/ratios"
done
shadow --percent 0
"$INFERD" --log-level warn rollout status m --server "$URL" > "$tmp/status.json"
python3 - "$tmp/ratios" "$tmp/status.json" <<'PY'
import json, statistics, sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
ratios = [on / off for off, on in rows]
s = json.load(open(sys.argv[2]))["shadow_stats"]
print("round  shadow off req/s  shadow 100% req/s  ratio")
for i, ((off, on), r) in enumerate(zip(rows, ratios)):
    print(f"{i + 1:5d}  {off:16.0f}  {on:17.0f}  {r:5.3f}")
print(f"throughput with shadow at 100% / without: median {statistics.median(ratios):.3f} "
      f"(min {min(ratios):.3f}, max {max(ratios):.3f}) (goal >= 0.85)")
total = s["pairs"] + s["dropped"]
print(f"shadow: {s['pairs']} pairs compared ({s['agree']} agree, {s['disagree']} disagree, "
      f"{s['shadow_errors']} shadow errors), {s['dropped']} dropped "
      f"({100.0 * s['dropped'] / max(total, 1):.1f}% of mirrored requests)")
PY
