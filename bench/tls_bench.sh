#!/usr/bin/env bash
# What TLS costs serving: two `inferd serve` processes (core 0, one HTTP thread each, one loaded at
# a time) serve the same 100-tree forest (30 features), one over plain HTTP, one over HTTPS (an
# ECDSA P-256 certificate made here with the openssl CLI; TLS 1.3). `inferd bench` (core 1,
# closed loop, 64 keep-alive connections: the handshake happens once per connection) measures
# each in turn, ROUNDS times. Prints the median throughput ratio https / http (goal: >= 0.80).
#
#   bench/tls_bench.sh [BUILD_DIR] [ROUNDS] [SECONDS]
set -euo pipefail
BUILD_DIR=${1:-build}
ROUNDS=${2:-5}
SECONDS_PER_RUN=${3:-3}
source "$(dirname "$0")/common.sh"
command -v openssl >/dev/null || { echo "openssl is missing: scripts/install-deps.sh bench" >&2; exit 1; }
mkdir -p "$tmp/repo/m/1"
cp "$ROOT/bench/models/binary_100x6/model.json" "$tmp/repo/m/1/"
(
  cd "$tmp"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
    -days 2 -subj "/CN=inferd bench CA" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
    -out server.csr -subj "/CN=localhost" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
    -days 2 -extfile ext 2>/dev/null
)
start_inferd "$tmp/repo"; URL_HTTP=$URL
start_inferd "$tmp/repo" --tls-cert "$tmp/server.pem" --tls-key "$tmp/server.key"
URL_HTTPS=https://127.0.0.1:$PORT
: > "$tmp/ratios"
for _ in $(seq "$ROUNDS"); do
  URL=$URL_HTTP; plain=$(throughput m)
  URL=$URL_HTTPS; tls=$(throughput m --cacert "$tmp/ca.pem")
  echo "$plain $tls" >> "$tmp/ratios"
done
python3 - "$tmp/ratios" <<'PY'
import statistics, sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
print("round  http req/s  https req/s  ratio")
for i, (p, t) in enumerate(rows):
    print(f"{i + 1:5d}  {p:10.0f}  {t:11.0f}  {t / p:5.3f}")
r = [t / p for p, t in rows]
print(f"HTTPS / HTTP keep-alive throughput: median {statistics.median(r):.3f} (min {min(r):.3f}, max {max(r):.3f}) (goal >= 0.80)")
PY
