#!/usr/bin/env bash
# Rollout changes under load: `inferd serve` (core 0) serves a model with two versions at 80% of
# its measured peak (`inferd bench --rate`, open loop, core 1) while canary/promote/rollback
# changes go through the API. Reports failed requests during the run (goal: 0) and how long each
# change takes to be effective: from sending the change to the first answer of a separate probe
# connection served by the new version (goal: <= 100 ms).
#
#   bench/rollout_bench.sh [BUILD_DIR] [CHANGES]
set -euo pipefail
BUILD_DIR=${1:-build}
CHANGES=${2:-10}
SECONDS_PER_RUN=3
source "$(dirname "$0")/common.sh"
mkdir -p "$tmp/repo/m/1" "$tmp/repo/m/2"
cp "$ROOT/bench/models/binary_100x6/model.json" "$tmp/repo/m/1/"
cp "$ROOT/bench/models/binary_100x6/model.json" "$tmp/repo/m/2/"
printf 'version_policy: {all: true}\nrollout: {labels: {stable: 1}, weights: {stable: 100}}\n' \
  > "$tmp/repo/m/config.yaml"
start_inferd "$tmp/repo"

PEAK=$(throughput m | cut -d. -f1)
RATE=$((PEAK * 8 / 10))
DURATION=$((CHANGES + 6))
taskset -c 1 "$INFERD" --log-level warn bench "$URL" --model m --concurrency 64 --rate "$RATE" \
  --duration "$DURATION" --warmup 1 --json > "$tmp/load.json" &
LOAD=$!
sleep 2
taskset -c 1 python3 - "$PORT" "$CHANGES" > "$tmp/changes.txt" <<'PY'
import http.client, json, statistics, sys, time
port, changes = int(sys.argv[1]), int(sys.argv[2])
body = json.dumps({"inputs": [{"name": "input", "shape": [1, 30], "datatype": "FP32",
                              "data": [0.5] * 30}]})
probe = http.client.HTTPConnection("127.0.0.1", port)
admin = http.client.HTTPConnection("127.0.0.1", port)
def served():
    probe.request("POST", "/v2/models/m/infer", body)
    r = probe.getresponse(); r.read()
    return r.getheader("inferd-model-version"), r.status
def change(path, payload, want):
    t0 = time.perf_counter()
    admin.request("POST", path, payload)
    r = admin.getresponse(); r.read()
    assert r.status == 200, r.status
    while True:
        v, status = served()
        if v == want:
            return (time.perf_counter() - t0) * 1000
times = []
for i in range(changes):
    # A weight change both ways, then a promotion and a rollback.
    times.append(change("/v2/models/m/rollout", '{"canary": 2, "weight": 100}', "2"))
    times.append(change("/v2/models/m/rollout", '{"canary": 2, "weight": 0}', "1"))
    times.append(change("/v2/models/m/rollout/promote", "", "2"))
    times.append(change("/v2/models/m/rollout/rollback", "", "1"))
    time.sleep(0.3)
print(statistics.median(times), min(times), max(times), len(times))
PY
wait "$LOAD"
read -r MED MIN MAX N < "$tmp/changes.txt"
python3 - "$tmp/load.json" "$RATE" "$PEAK" "$MED" "$MIN" "$MAX" "$N" <<'PY'
import json, sys
l = json.loads(open(sys.argv[1]).readline())
rate, peak, med, mn, mx, n = sys.argv[2:8]
print(f"load: {rate} req/s open loop (80% of the measured peak {peak}), 64 connections")
print(f"requests: {l['ok']} answered, {l['errors']} failed (goal: 0); p99 {l['p99_us']:.0f} us")
print(f"{n} changes (weight both ways, promote, rollback): effective after median {float(med):.2f} ms (min {float(mn):.2f}, max {float(mx):.2f}) (goal <= 100 ms)")
PY
