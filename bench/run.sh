#!/usr/bin/env bash
# `make bench`: every benchmark, each printing ratios against a peer measured in the same run.
set -euo pipefail
BUILD_DIR=${1:-build}
cd "$(dirname "$0")/.."
"$BUILD_DIR/bench/forest_bench" --model-dir "$BUILD_DIR/bench-models"
bench/http_bench.sh "$BUILD_DIR"
bench/nginx_bench.sh "$BUILD_DIR"
bench/grpc_bench.sh "$BUILD_DIR"
bench/batching_bench.sh "$BUILD_DIR"
bench/rollout_bench.sh "$BUILD_DIR"
bench/shadow_bench.sh "$BUILD_DIR"
bench/monitoring_bench.sh "$BUILD_DIR"
bench/auth_bench.sh "$BUILD_DIR"
bench/tls_bench.sh "$BUILD_DIR"
"$BUILD_DIR/bench/drift_bench"
"$BUILD_DIR/bench/serve_bench"
"$BUILD_DIR/bench/lambda_bench"
bench/predict_bench.sh "$BUILD_DIR"
bench/optimize_bench.sh "$BUILD_DIR"
bench/search_bench.sh "$BUILD_DIR"
# ONNX Runtime (the ONNX engine's peer) from npm; without it onnx_bench skips the ORT column.
if command -v npm >/dev/null && [[ ! -d tools/fixtures/ort/node_modules/onnxruntime-node ]]; then
  (cd tools/fixtures/ort && npm ci --ignore-scripts --no-audit --no-fund)
fi
"$BUILD_DIR/bench/onnx_bench"
