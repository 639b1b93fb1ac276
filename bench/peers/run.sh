#!/usr/bin/env bash
# `make bench-peers`: inferd against what users would pick instead, on one machine in one run,
# then docs/BENCHMARKS.md and its plots (bench/peers/report.py). Every server is pinned to core 0
# and every load generator to core 1.
#
#   1. inferd vs a FastAPI + uvicorn + xgboost service (fastapi_service.py, Debian's packages),
#      the same model (bench/models/binary_100x6: 100 trees, 30 features) and the same request
#      bodies: throughput and latency by concurrency (wrk, closed loop) at batch 1 and 100, cold
#      start to the first answer, memory. FastAPI in four styles, the fastest one in the sweep.
#   2. inferd vs nginx `return 200` with a body of the same size: this machine's HTTP limit.
#   3. The engines: inferd's forest vs libxgboost (forest_bench), inferd's ONNX engine vs ONNX
#      Runtime (onnx_bench).
#   4. REST vs gRPC, JSON vs binary tensors (`inferd bench`, the one generator that speaks both).
#
#   bench/peers/run.sh [BUILD_DIR]        DURATION=5 (seconds per measured run), RUNS=10 (starts)
set -euo pipefail
BUILD_DIR=${1:-build}
DURATION=${DURATION:-5}
RUNS=${RUNS:-10}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/bench/peers"
INFERD="$ROOT/$BUILD_DIR/inferd"
PY=/usr/bin/python3  # Debian's, with python3-fastapi & co. (not a pyenv's)
NGINX=/usr/sbin/nginx
OUT="$ROOT/docs/benchmarks"
MODEL="$ROOT/bench/models/binary_100x6/model.json"

fail() { echo "bench-peers: $*" >&2; exit 1; }
[[ -x $INFERD ]] || fail "$INFERD is missing: make build"
[[ -x $ROOT/$BUILD_DIR/bench/forest_bench && -x $ROOT/$BUILD_DIR/bench/cold_start ]] ||
  fail "the bench binaries are missing: make bench"
command -v wrk >/dev/null || fail "wrk is missing: scripts/install-deps.sh peers"
command -v gnuplot >/dev/null || fail "gnuplot is missing: scripts/install-deps.sh peers"
[[ -x $NGINX ]] || fail "nginx is missing: scripts/install-deps.sh peers"
$PY -c 'import fastapi, uvicorn, uvloop, httptools, xgboost, numpy' 2>/dev/null ||
  fail "the FastAPI peer's packages are missing: scripts/install-deps.sh peers"
(($(nproc) >= 2)) || fail "needs 2 cores (servers and load generators pinned apart)"

tmp=$(mktemp -d)
res="$tmp/results"
mkdir -p "$res" "$tmp/repo/forest/1"
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
cp "$MODEL" "$tmp/repo/forest/1/model.json"

# Request bodies: batch 1 and batch 100 rows of 30 features (fixed seed), and wrk scripts.
$PY - "$tmp" <<'PY'
import json, random, sys
random.seed(7)
for batch in (1, 100):
    rows = [round(random.uniform(0, 30), 3) for _ in range(batch * 30)]
    body = {"inputs": [{"name": "input", "shape": [batch, 30], "datatype": "FP32", "data": rows}]}
    with open(f"{sys.argv[1]}/batch{batch}.json", "w") as f:
        json.dump(body, f, separators=(",", ":"))
PY
for b in 1 100; do
  cat > "$tmp/post$b.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$tmp/batch$b.json", "r")
wrk.body = f:read("*a")
f:close()
LUA
done

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {  # port path -> waits for a 200 (30 s)
  for _ in $(seq 600); do
    curl -sf -o /dev/null "http://127.0.0.1:$1$2" && return 0
    sleep 0.05
  done
  fail "nothing answered on port $1"
}
rss_kib() {
  local kib
  kib=$(awk '/^VmHWM/ {print $2}' "/proc/$1/status")
  [[ -n $kib ]] || fail "cannot read the peak RSS of process $1"
  echo "$kib"
}
# CPU time (clock ticks) of a server's process and its children's processes (nginx's worker).
cpu_ticks() {
  local total=0 p
  for p in $1 $(pgrep -P "$1" || true); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$total"
}
TICKS=$(getconf CLK_TCK)
# wrk against url with the batch's body at a concurrency: a warm-up, then DURATION measured.
# The server's CPU time per request is recorded too: what each answer costs the server, whatever
# the load generator could send. Any non-2xx answer fails the run (wrk2json.py).
measure() {  # server pid batch concurrency url [key=value ...]
  local server=$1 pid=$2 batch=$3 conc=$4 url=$5
  shift 5
  taskset -c 1 wrk -t1 -c"$conc" -d2s -s "$tmp/post$batch.lua" "$url" > /dev/null
  local before after
  before=$(cpu_ticks "$pid")
  taskset -c 1 wrk -t1 -c"$conc" -d"${DURATION}s" --latency -s "$tmp/post$batch.lua" "$url" \
    > "$tmp/wrk.txt"
  after=$(cpu_ticks "$pid")
  $PY "$HERE/wrk2json.py" "$tmp/wrk.txt" kind=http server="$server" batch="$batch" \
    concurrency="$conc" cpu_s="$(awk -v a="$before" -v b="$after" -v t="$TICKS" \
    'BEGIN {printf "%.3f", (b - a) / t}')" "$@" >> "$res/http.jsonl"
  tail -1 "$res/http.jsonl"
}
SWEEP_1=(1 2 4 8 16 32 64)
SWEEP_100=(1 8 64)

# --- 1. inferd -------------------------------------------------------------------------------
PORT=$(free_port)
GRPC=$(free_port)
while [[ $GRPC == "$PORT" ]]; do GRPC=$(free_port); done
INFERD_CMD=(taskset -c 0 "$INFERD" --log-level warn serve --model-repository "$tmp/repo"
  --host 127.0.0.1 --http-port "$PORT" --grpc-port "$GRPC" --http-threads 1 --state "$tmp/state")
"${INFERD_CMD[@]}" > "$tmp/inferd.log" 2>&1 &
INFERD_PID=$!
wait_http "$PORT" /v2/health/ready
URL_INFERD="http://127.0.0.1:$PORT/v2/models/forest/infer"
curl -s -H 'Content-Type: application/json' "$URL_INFERD" -d @"$tmp/batch100.json" > "$tmp/inferd100.json"
BYTES=$(curl -s -H 'Content-Type: application/json' "$URL_INFERD" -d @"$tmp/batch1.json" | wc -c)
echo "bench-peers: inferd"
for c in "${SWEEP_1[@]}"; do measure inferd "$INFERD_PID" 1 "$c" "$URL_INFERD"; done
for c in "${SWEEP_100[@]}"; do measure inferd "$INFERD_PID" 100 "$c" "$URL_INFERD"; done
KIB=$(rss_kib "$INFERD_PID")
echo "{\"kind\": \"rss\", \"server\": \"inferd\", \"vmhwm_kib\": $KIB}" >> "$res/other.jsonl"

# --- 4. protocols, against the same inferd (the load generator is `inferd bench`) -------------
echo "bench-peers: REST vs gRPC, JSON vs binary"
for b in 1 100; do
  for mode in rest-json rest-binary grpc-typed grpc-binary; do
    args=(--model forest --batch "$b" --concurrency 64 --duration "$DURATION" --warmup 2 --json)
    case $mode in
      rest-json) target=("http://127.0.0.1:$PORT") ;;
      rest-binary) target=("http://127.0.0.1:$PORT" --binary) ;;
      grpc-typed) target=("127.0.0.1:$GRPC" --grpc) ;;
      grpc-binary) target=("127.0.0.1:$GRPC" --grpc --binary) ;;
    esac
    line=$(taskset -c 1 "$INFERD" bench "${target[@]}" "${args[@]}")
    echo "{\"kind\": \"protocol\", \"mode\": \"$mode\", \"result\": $line}" >> "$res/other.jsonl"
    tail -1 "$res/other.jsonl"
  done
done
kill "$INFERD_PID"
wait "$INFERD_PID" 2>/dev/null || true

# --- 2. nginx return 200, a body the size of inferd's batch-1 answer ---------------------------
NPORT=$(free_port)
source "$ROOT/bench/nginx_return200.sh"
start_nginx_return200 "$tmp" "$NPORT" "$BYTES" || fail "nginx did not start"
echo "bench-peers: nginx return 200 ($BYTES bytes)"
measure nginx "$NGINX_PID" 1 64 "http://127.0.0.1:$NPORT/v2/models/forest/infer" \
  body_bytes="$BYTES"
kill "$NGINX_PID"
wait "$NGINX_PID" 2>/dev/null || true

# --- 1. the FastAPI service ------------------------------------------------------------------
FPORT=$(free_port)
fastapi_cmd() {  # style loop http -> FASTAPI_CMD
  FASTAPI_CMD=(taskset -c 0 env MODEL_PATH="$MODEL" MODEL_NAME=forest ENDPOINT_STYLE="$1"
    "$PY" -m uvicorn --app-dir "$HERE" fastapi_service:app --host 127.0.0.1 --port "$FPORT"
    --workers 1 --no-access-log --log-level warning --loop "$2" --http "$3")
}
URL_FASTAPI="http://127.0.0.1:$FPORT/v2/models/forest/infer"
# Its styles at concurrency 64, batch 1; the fastest then runs the whole sweep.
best="" best_rps=0
for style in "async uvloop httptools" "sync uvloop httptools" "async asyncio h11" "sync asyncio h11"; do
  read -r s l h <<< "$style"
  fastapi_cmd "$s" "$l" "$h"
  "${FASTAPI_CMD[@]}" > "$tmp/fastapi.log" 2>&1 &
  FASTAPI_PID=$!
  wait_http "$FPORT" /v2/health/ready
  echo "bench-peers: FastAPI ($s def, $l, $h)"
  line=$(measure "fastapi-$s-$l-$h" "$FASTAPI_PID" 1 64 "$URL_FASTAPI" variant=1)
  rps=$($PY -c 'import json,sys; print(int(json.loads(sys.argv[1])["rps"]))' "$line")
  if ((rps > best_rps)); then best_rps=$rps best=$style; fi
  kill "$FASTAPI_PID"
  wait "$FASTAPI_PID" 2>/dev/null || true
done
read -r s l h <<< "$best"
fastapi_cmd "$s" "$l" "$h"
"${FASTAPI_CMD[@]}" > "$tmp/fastapi.log" 2>&1 &
FASTAPI_PID=$!
wait_http "$FPORT" /v2/health/ready
# The same answers: inferd's and the service's probabilities for the batch of 100 rows.
curl -s -H 'Content-Type: application/json' "$URL_FASTAPI" -d @"$tmp/batch100.json" > "$tmp/fastapi100.json"
$PY - "$tmp/inferd100.json" "$tmp/fastapi100.json" <<'PY' || fail "inferd and the FastAPI service disagree"
import json, sys
a = next(o for o in json.load(open(sys.argv[1]))["outputs"] if o["name"] == "probabilities")["data"]
b = next(o for o in json.load(open(sys.argv[2]))["outputs"] if o["name"] == "probabilities")["data"]
worst = max(abs(x - y) for x, y in zip(a, b))
assert len(a) == len(b) == 200 and worst <= 1e-5, (len(a), len(b), worst)
print(f"bench-peers: inferd and FastAPI agree on 100 rows (largest difference {worst:.1e})")
PY
echo "bench-peers: FastAPI ($s def, $l, $h): the sweep"
for c in "${SWEEP_1[@]}"; do
  measure fastapi "$FASTAPI_PID" 1 "$c" "$URL_FASTAPI" style="$s-$l-$h"
done
for c in "${SWEEP_100[@]}"; do
  measure fastapi "$FASTAPI_PID" 100 "$c" "$URL_FASTAPI" style="$s-$l-$h"
done
KIB=$(rss_kib "$FASTAPI_PID")
echo "{\"kind\": \"rss\", \"server\": \"fastapi\", \"vmhwm_kib\": $KIB}" >> "$res/other.jsonl"

# --- 1. the same load for both: open loop at a quarter of the service's peak -----------------
# (Closed loop at 64 clients, each server's latency is set by its own throughput; here both get
# the same request rate, from the same generator: `inferd bench --rate`, 64 connections.)
RATE=$($PY -c 'import json,sys
rows = [json.loads(l) for l in open(sys.argv[1])]
peak = next(r["rps"] for r in rows if r["server"] == "fastapi" and r["batch"] == 1 and r["concurrency"] == 64)
print(int(peak / 4))' "$res/http.jsonl")
equal_load() {  # server url
  local line
  line=$(taskset -c 1 "$INFERD" bench "$2" --model forest --concurrency 64 --rate "$RATE" \
    --duration "$DURATION" --warmup 2 --json)
  echo "{\"kind\": \"equal_load\", \"server\": \"$1\", \"result\": $line}" >> "$res/other.jsonl"
  tail -1 "$res/other.jsonl"
}
echo "bench-peers: both at $RATE requests/s (open loop)"
equal_load fastapi "http://127.0.0.1:$FPORT"
kill "$FASTAPI_PID"
wait "$FASTAPI_PID" 2>/dev/null || true
"${INFERD_CMD[@]}" > "$tmp/inferd.log" 2>&1 &
INFERD_PID=$!
wait_http "$PORT" /v2/health/ready
equal_load inferd "http://127.0.0.1:$PORT"
kill "$INFERD_PID"
wait "$INFERD_PID" 2>/dev/null || true

# --- 1. cold start to the first answer -------------------------------------------------------
# Each server alone on the machine (not pinned: a container gets its cores), HTTP only, as a
# container or a function would start it; the state directory is kept between runs (a restart).
echo "bench-peers: cold starts ($RUNS each)"
cold() {  # server port command...
  local server=$1 port=$2
  shift 2
  line=$("$ROOT/$BUILD_DIR/bench/cold_start" --runs "$RUNS" --port "$port" \
    --path /v2/models/forest/infer --body "$tmp/batch1.json" -- "$@")
  echo "{\"kind\": \"cold\", \"server\": \"$server\", \"result\": $line}" >> "$res/other.jsonl"
  tail -1 "$res/other.jsonl"
}
cold inferd "$PORT" "$INFERD" --log-level warn serve --model-repository "$tmp/repo" \
  --host 127.0.0.1 --http-port "$PORT" --state "$tmp/cold-state"
cold fastapi "$FPORT" "${FASTAPI_CMD[@]:3}"

# --- 3. the engines --------------------------------------------------------------------------
echo "bench-peers: engines"
"$ROOT/$BUILD_DIR/bench/forest_bench" --json --model-dir "$ROOT/$BUILD_DIR/bench-models" \
  > "$res/forest.jsonl"
if command -v npm >/dev/null && [[ ! -d $ROOT/tools/fixtures/ort/node_modules/onnxruntime-node ]]; then
  (cd "$ROOT/tools/fixtures/ort" && npm ci --ignore-scripts --no-audit --no-fund > /dev/null)
fi
# Without ONNX Runtime (no node or npm) onnx_bench still times inferd: its rows then have no
# peer (ort_us < 0), and the report says so.
"$ROOT/$BUILD_DIR/bench/onnx_bench" --json > "$res/onnx.jsonl"

# --- the report ------------------------------------------------------------------------------
mkdir -p "$OUT"
{
  echo "{\"kind\": \"machine\", \"os\": \"$(. /etc/os-release && echo "$PRETTY_NAME")\", \"libxgboost\": \"$(dpkg-query -W -f='${Version}' libxgboost-dev 2>/dev/null || echo unknown)\", \"date\": \"$(date -u +%Y-%m-%d)\", \"cpu\": \"$(lscpu | sed -n 's/^Model name:\s*//p' | head -1)\", \"cores\": $(nproc), \"kernel\": \"$(uname -r)\", \"duration_s\": $DURATION, \"runs\": $RUNS, \"command\": \"make bench-peers\"}"
  echo "{\"kind\": \"versions\", \"fastapi\": \"$($PY -c 'import fastapi; print(fastapi.__version__)')\", \"uvicorn\": \"$($PY -c 'import uvicorn; print(uvicorn.__version__)')\", \"xgboost\": \"$($PY -c 'import xgboost; print(xgboost.__version__)')\", \"python\": \"$($PY -c 'import platform; print(platform.python_version())')\", \"nginx\": \"$($NGINX -v 2>&1 | sed 's/.*nginx\///')\", \"wrk\": \"$(wrk -v 2>&1 | head -1 | awk '{print $2}')\"}"
  cat "$res/http.jsonl" "$res/other.jsonl"
  sed 's/^/{"kind": "forest", "result": /; s/$/}/' "$res/forest.jsonl"
  sed 's/^/{"kind": "onnx", "result": /; s/$/}/' "$res/onnx.jsonl"
} > "$OUT/results.jsonl"
$PY "$HERE/report.py" "$OUT/results.jsonl" "$ROOT/docs/BENCHMARKS.md" "$OUT"
