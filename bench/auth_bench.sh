#!/usr/bin/env bash
# What authentication costs serving: three `inferd serve` processes (core 0, one HTTP thread
# each, one loaded at a time) serve the same 100-tree forest (30 features): `open` without
# credentials, `keys` with an API-keys file of 20 keys (`inferd auth new-key`), `jwt` with an
# HS256 secret. `inferd bench` (core 1, closed loop, 64 keep-alive connections) measures each in
# turn, ROUNDS times. Prints the median throughput ratios keys / open (goal: >= 0.97, i.e. API-key
# auth costs <= 3%) and jwt / open.
#
#   bench/auth_bench.sh [BUILD_DIR] [ROUNDS] [SECONDS]
set -euo pipefail
BUILD_DIR=${1:-build}
ROUNDS=${2:-5}
SECONDS_PER_RUN=${3:-3}
source "$(dirname "$0")/common.sh"
mkdir -p "$tmp/repo/m/1"
cp "$ROOT/bench/models/binary_100x6/model.json" "$tmp/repo/m/1/"
for i in $(seq 19); do
  "$INFERD" auth new-key --name "user$i" --scopes infer --keys-file "$tmp/keys" > /dev/null 2>&1
done
KEY=$("$INFERD" auth new-key --name bench --scopes infer --keys-file "$tmp/keys" 2>/dev/null)
head -c 48 /dev/urandom | base64 > "$tmp/secret"
JWT=$(python3 - "$tmp/secret" <<'PY'
import base64, hashlib, hmac, json, sys
secret = open(sys.argv[1], "rb").read().rstrip(b"\r\n")
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=")
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = b64(json.dumps({"sub": "bench", "scope": "infer"}).encode())
sig = b64(hmac.new(secret, head + b"." + body, hashlib.sha256).digest())
print((head + b"." + body + b"." + sig).decode())
PY
)
start_inferd "$tmp/repo"; URL_OPEN=$URL
start_inferd "$tmp/repo" --api-keys "$tmp/keys"; URL_KEYS=$URL
start_inferd "$tmp/repo" --jwt-secret-file "$tmp/secret"; URL_JWT=$URL
: > "$tmp/ratios"
for _ in $(seq "$ROUNDS"); do
  URL=$URL_OPEN; open=$(INFERD_TOKEN= throughput m)
  URL=$URL_KEYS; keys=$(INFERD_TOKEN=$KEY throughput m)
  URL=$URL_JWT; jwt=$(INFERD_TOKEN=$JWT throughput m)
  echo "$open $keys $jwt" >> "$tmp/ratios"
done
python3 - "$tmp/ratios" <<'PY'
import statistics, sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
print("round  open req/s  api-key req/s  jwt req/s  key/open  jwt/open")
for i, (o, k, j) in enumerate(rows):
    print(f"{i + 1:5d}  {o:10.0f}  {k:13.0f}  {j:9.0f}  {k / o:8.3f}  {j / o:8.3f}")
kr = [k / o for o, k, _ in rows]
jr = [j / o for o, _, j in rows]
print(f"API-key auth / open: median {statistics.median(kr):.3f} (min {min(kr):.3f}, max {max(kr):.3f}) (goal >= 0.97)")
print(f"JWT (HS256) auth / open: median {statistics.median(jr):.3f} (min {min(jr):.3f}, max {max(jr):.3f})")
PY
