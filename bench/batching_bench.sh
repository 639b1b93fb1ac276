#!/usr/bin/env bash
# Dynamic batching on the ONNX MLP (784-256-128-10, tests/fixtures/onnx/mlp_mnist): the same model
# served twice, `mnist` (batching off) and `mnist_batched` (max_batch_size 64, dynamic_batching
# with max_queue_delay_us 0), 64 clients sending batch-1 binary-tensor requests. The server is
# pinned to core 0 with one I/O thread, the load generator (`inferd bench`) to core 1, in one
# run; then the same unpinned (default threads). Prints throughput, p99, rows per execution and
# the ratios; the goal is >= 2x with p99 <= max_queue_delay + 2x the unbatched p99.
#
#   bench/batching_bench.sh [BUILD_DIR] [DURATION_SECS]
set -euo pipefail
BUILD_DIR=${1:-build}
DURATION=${2:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
INFERD="$ROOT/$BUILD_DIR/inferd"
[ -x "$INFERD" ] || { echo "$INFERD is missing: make build" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "needs 2 cores (server and client pinned apart)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
for m in mnist mnist_batched; do
  mkdir -p "$tmp/repo/$m/1"
  cp "$ROOT/tests/fixtures/onnx/mlp_mnist/model.onnx" "$tmp/repo/$m/1/"
done
printf 'max_batch_size: 64\ndynamic_batching: {max_queue_delay_us: 0}\n' \
  > "$tmp/repo/mnist_batched/config.yaml"

run() {  # label server-cpus client-cpus extra-serve-flags
  local label=$1 scpu=$2 ccpu=$3
  shift 3
  taskset -c "$scpu" "$INFERD" --log-level warn serve --model-repository "$tmp/repo" \
    --host 127.0.0.1 --http-port 0 "$@" > "$tmp/out" &
  local pid=$!
  for _ in $(seq 200); do grep -q "HTTP listening" "$tmp/out" 2>/dev/null && break; sleep 0.05; done
  local port
  port=$(sed -n 's/.*HTTP listening on .*:\([0-9]*\)$/\1/p' "$tmp/out")
  for m in mnist mnist_batched; do
    taskset -c "$ccpu" "$INFERD" --log-level warn bench "http://127.0.0.1:$port" --model "$m" \
      --concurrency 64 --binary --warmup 1 --duration "$DURATION" --json > "$tmp/$m.json"
  done
  curl -s "http://127.0.0.1:$port/v2/models/mnist_batched/stats" > "$tmp/stats.json"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  python3 - "$label" "$tmp" <<'PY'
import json, sys
label, tmp = sys.argv[1], sys.argv[2]
off = json.loads(open(f"{tmp}/mnist.json").readline())
on = json.loads(open(f"{tmp}/mnist_batched.json").readline())
s = json.load(open(f"{tmp}/stats.json"))["model_stats"][0]
rows = s["inference_count"] / max(s["execution_count"], 1)
bound = 2 * off["p99_us"]
print(f"{label:10} {off['throughput']:10.0f} {on['throughput']:10.0f} {on['throughput'] / off['throughput']:6.2f}x"
      f" {off['p99_us'] / 1000:8.2f} {on['p99_us'] / 1000:8.2f} {bound / 1000:8.2f}"
      f" {'yes' if on['p99_us'] <= bound else 'no':>6} {rows:8.1f}")
PY
}

echo "ONNX MLP 784-256-128-10, batch-1 binary requests, 64 clients, ${DURATION}s per row"
printf '%-10s %10s %10s %7s %8s %8s %8s %6s %8s\n' setup "off req/s" "on req/s" ratio \
  "p99 off" "p99 on" "bound" "p99ok" "rows/ex"
run pinned 0 1 --http-threads 1
run unpinned 0,1 0,1
