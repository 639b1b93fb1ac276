# Shared by the bench scripts that load a running `inferd serve` (source it after setting
# BUILD_DIR): checks the binary and python3, makes $tmp (removed on exit, with background jobs),
# and defines
#   start_inferd REPO [ARGS...]  serve REPO (and ARGS) on core 0 with one HTTP thread; sets PORT
#                      and URL
#   throughput MODEL [ARGS...]  one closed-loop `inferd bench` on core 1 (64 connections,
#                      $SECONDS_PER_RUN s; ARGS go to inferd bench) against $URL printing
#                      requests/s; fails on any error ($INFERD_TOKEN, when set, is sent as the
#                      bearer token)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
INFERD="$ROOT/$BUILD_DIR/inferd"
[ -x "$INFERD" ] || { echo "$INFERD is missing: make build" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is missing: scripts/install-deps.sh bench" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

start_inferd() {
  local out="$tmp/out.$RANDOM"
  taskset -c 0 "$INFERD" --log-level warn serve --model-repository "$1" --state "$tmp/state.$RANDOM" \
    --host 127.0.0.1 --http-port 0 --http-threads 1 "${@:2}" > "$out" &
  for _ in $(seq 200); do grep -q "HTTP listening" "$out" 2>/dev/null && break; sleep 0.05; done
  PORT=$(sed -n 's/.*HTTP listening on .*:\([0-9]*\)$/\1/p' "$out")
  URL="http://127.0.0.1:$PORT"
}

throughput() {
  taskset -c 1 "$INFERD" --log-level warn bench "$URL" --model "$1" "${@:2}" --concurrency 64 \
    --duration "$SECONDS_PER_RUN" --warmup 1 --json |
    python3 -c 'import json,sys; r=json.loads(sys.stdin.readline()); assert r["errors"]==0, r; print(r["throughput"])'
}
