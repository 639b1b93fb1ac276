#!/usr/bin/env bash
# `inferd predict` end to end: a 1,000,000-row x 30-column CSV scored by a 100-tree depth-6
# binary:logistic model (bench/models/binary_100x6, tools/fixtures/make_bench_models.py),
# parsing and writing included. Goal (issue 3): >= 1,000,000 rows/s on 2 threads, peak RSS < 100 MB.
#
#   bench/predict_bench.sh [BUILD_DIR]    (default build; needs BUILD_DIR/inferd, /usr/bin/time)
#
# Environment: ROWS (1000000), THREADS (2), RUNS (3), DIGITS (7: significant digits of the values),
# MISSING (1: percent of empty fields), WORK (BUILD_DIR/bench/predict: generated files).
# Prints each run (wall time, rows/s, peak RSS, CPU seconds per stage) and the median with its
# spread. The rows are regenerated only when absent; the first run after that reads a cold file.
set -euo pipefail
BUILD_DIR=${1:-build}
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
THREADS=${THREADS:-2}
RUNS=${RUNS:-3}
DIGITS=${DIGITS:-7}
MISSING=${MISSING:-1}
WORK=${WORK:-$BUILD_DIR/bench/predict}
MODEL=bench/models/binary_100x6/model.json
INFERD=$BUILD_DIR/inferd

[[ -x $INFERD ]] || { echo "predict_bench: $INFERD not built" >&2; exit 1; }
[[ -x /usr/bin/time ]] || {
  echo "predict_bench: /usr/bin/time missing (scripts/install-deps.sh bench installs it)" >&2
  exit 1
}
if [[ ! -f $MODEL ]]; then
  echo "predict_bench: generating $MODEL" >&2
  /usr/bin/python3 tools/fixtures/make_bench_models.py
fi
mkdir -p "$WORK"
GEN=$WORK/predict_rows
if [[ ! -x $GEN || bench/predict_rows.cc -nt $GEN ]]; then
  ${CXX:-g++} -O2 -std=c++20 -o "$GEN" bench/predict_rows.cc
fi
CSV=$WORK/rows_${ROWS}x30_d${DIGITS}_m${MISSING}.csv
if [[ ! -f $CSV ]]; then
  echo "predict_bench: writing $CSV" >&2
  "$GEN" "$ROWS" 30 "$DIGITS" "$MISSING" > "$CSV.tmp"
  mv "$CSV.tmp" "$CSV"
fi
bytes=$(stat -c %s "$CSV")
echo "inferd predict: $MODEL on $CSV ($ROWS rows, $((bytes / 1000000)) MB), --threads $THREADS"
# Warm the page cache so every timed run reads the same way.
cat "$CSV" > /dev/null

walls=() rates=() rss=()
for ((i = 1; i <= RUNS; i++)); do
  log=$WORK/run.$i.log
  /usr/bin/time -f "TIME %e %M %P" -o "$WORK/time.$i" \
    "$INFERD" predict "$MODEL" --input "$CSV" --output "$WORK/out.csv" --threads "$THREADS" \
    --progress none --profile 2> "$log"
  read -r _ wall kb cpu < <(grep '^TIME' "$WORK/time.$i")
  rate=$(sed -n 's/.*rows\/s \([0-9]*\).*/\1/p' "$log")
  stages=$(sed -n 's/^stages (CPU seconds, [^)]*): //p' "$log")
  printf "run %d: wall %5.2f s  %9d rows/s  peak RSS %4d MB  CPU %5s  stages (CPU s): %s\n" \
    "$i" "$wall" "$rate" $((kb / 1024)) "$cpu" "$stages"
  walls+=("$wall") rates+=("$rate") rss+=($((kb / 1024)))
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
minmax() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {print lo "-" hi}'; }
m_rate=$(median "${rates[@]}")
m_rss=$(median "${rss[@]}")
printf "median of %d: wall %s s (%s), %s rows/s (%s), peak RSS %s MB (%s)\n" "$RUNS" \
  "$(median "${walls[@]}")" "$(minmax "${walls[@]}")" "$m_rate" "$(minmax "${rates[@]}")" \
  "$m_rss" "$(minmax "${rss[@]}")"
if ((m_rate >= 1000000 && m_rss < 100)); then verdict=met; else verdict="not met"; fi
echo "goal (>= 1000000 rows/s and < 100 MB peak RSS, on $THREADS threads): $verdict"
echo "(CPU below ${THREADS}00% means other work on the machine took cores and lowered rows/s;" \
  "the CPU seconds per stage are not affected)"
