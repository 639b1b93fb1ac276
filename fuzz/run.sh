#!/usr/bin/env bash
# Runs the fuzz targets built in BUILD_DIR (make fuzz): each for SECONDS, starting from its committed
# corpus (fuzz/corpus/<target>), then merges the inputs that found new coverage back into that
# corpus (minimized), so that it grows run by run. Prints one line per target: executions, rate,
# corpus size, and whether it found a crash, a leak or undefined behaviour (the input is kept in
# BUILD_DIR/fuzz/artifacts). Exits 1 when any target failed. With FUZZ_RUNS=N in the environment a
# target stops after N executions (SECONDS still caps it).
#
#   fuzz/run.sh BUILD_DIR SECONDS [--no-merge] TARGET...      (make fuzz names them all)
set -uo pipefail
BUILD_DIR=${1:?build dir}
SECONDS_EACH=${2:?seconds per target}
shift 2
MERGE=1
if [[ ${1:-} == --no-merge ]]; then MERGE=0; shift; fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGETS=("$@")
((${#TARGETS[@]} > 0)) || { echo "fuzz/run.sh: name the targets (make fuzz names them all)" >&2; exit 2; }
BIN="$BUILD_DIR/fuzz"
mkdir -p "$BIN/artifacts"
failed=0
printf '%-16s %12s %9s %8s  %s\n' target executions exec/s corpus result
for t in "${TARGETS[@]}"; do
  work="$BIN/work/$t"
  mkdir -p "$work" "$ROOT/fuzz/corpus/$t"
  log="$BIN/$t.log"
  # (UBSan reports are fatal: -fno-sanitize-recover at build time.)
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
    "$BIN/$t" -max_total_time="$SECONDS_EACH" -print_final_stats=1 -rss_limit_mb=2560 \
    -timeout=20 -max_len=65536 -artifact_prefix="$BIN/artifacts/$t-" ${FUZZ_RUNS:+-runs=$FUZZ_RUNS} \
    "$work" "$ROOT/fuzz/corpus/$t" > "$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  result=ok
  if ((rc != 0)); then
    result="FAILED (exit $rc): $(grep -m1 -E 'ERROR: |runtime error|SUMMARY' "$log" | cut -c1-120)"
    failed=1
  fi
  if ((MERGE)) && ((rc == 0)); then
    "$BIN/$t" -merge=1 -max_len=65536 "$ROOT/fuzz/corpus/$t" "$work" > "$BIN/$t.merge.log" 2>&1
  fi
  corpus=$(ls "$ROOT/fuzz/corpus/$t" | wc -l)
  printf '%-16s %12s %9s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$corpus" "$result"
done
exit $failed
