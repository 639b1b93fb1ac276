#!/usr/bin/env bash
# `make bench`: every benchmark, each printing ratios against a peer measured in the same run.
set -euo pipefail
BUILD_DIR=${1:-build}
cd "$(dirname "$0")/.."
"$BUILD_DIR/bench/forest_bench" --model-dir "$BUILD_DIR/bench-models"
bench/http_bench.sh "$BUILD_DIR"
bench/predict_bench.sh "$BUILD_DIR"
