#!/usr/bin/env bash
# Proves deploy/runtime-packages.txt complete without a Docker engine. It debootstraps a
# minimal Debian bookworm root (minbase: what debian:bookworm-slim is made of), installs exactly
# those packages into it, copies in the built binary and its plugins, and serves models from
# inside the root with chroot:
#   - an XGBoost forest (the engine in the binary);
#   - an ONNX MLP (the ONNX plugin: libonnx, protobuf, oneDNN);
#   - the gRPC port (the gRPC plugin);
#   - with its state in PostgreSQL (the PostgreSQL module: libpq), a throwaway cluster on the
#     host's loopback (tests/postgres/cluster.sh).
# Every library must resolve (ldd) and every answer must be right. It also prints the installed
# size of the packages beyond the base, per package (goal: <= 150 MB).
#
#   deploy/check-runtime.sh [BUILD_DIR]       (root; the base root is cached in $INFERD_RUNTIME_CACHE)
#
# Needs root (debootstrap, chroot) and Debian's mirror. Without root it says so and exits 0
# without checking (1 under CI=true: CI must check).
set -euo pipefail
export LC_ALL=C
BUILD_DIR=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${INFERD_RUNTIME_CACHE:-/var/cache/inferd-runtime}
MIRROR=${INFERD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
if [[ $(id -u) -ne 0 ]]; then
  echo "check-runtime: SKIPPED: debootstrap and chroot need root"
  [[ ${CI:-} == true ]] && exit 1
  exit 0
fi
for f in inferd libinferd_onnx.so libinferd_grpc.so libinferd_postgres.so; do
  [[ -f $ROOT/$BUILD_DIR/$f ]] || { echo "check-runtime: $BUILD_DIR/$f is missing: build first" >&2; exit 1; }
done
command -v debootstrap >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 ||
  "$ROOT/scripts/install-deps.sh" container

base=$CACHE/bookworm-minbase
if [[ ! -f $base/.complete ]]; then
  rm -rf "$base"
  mkdir -p "$CACHE"
  echo "check-runtime: debootstrap --variant=minbase bookworm (cached in $base)"
  debootstrap --variant=minbase bookworm "$base" "$MIRROR" > "$CACHE/debootstrap.log" 2>&1 ||
    { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
  touch "$base/.complete"
fi
work=$(mktemp -d "$CACHE/check.XXXXXX")
cleanup() {
  [[ -n ${pid:-} ]] && kill "$pid" 2>/dev/null || true
  [[ -n ${pgdir:-} ]] && { "$ROOT/tests/postgres/cluster.sh" stop "$pgdir/pg"; rm -rf "$pgdir"; }
  umount "$work/proc" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cp -a "$base/." "$work/"
cp /etc/resolv.conf "$work/etc/resolv.conf"
mount -t proc proc "$work/proc"
sizes() { chroot "$work" dpkg-query -W -f='${Package}\t${Installed-Size}\n' | sort; }
sizes > "$work/before"
mapfile -t packages < <(grep -v '^\s*#' "$ROOT/deploy/runtime-packages.txt" | awk 'NF')
echo "check-runtime: installing ${#packages[@]} packages: ${packages[*]}"
chroot "$work" /bin/sh -c "echo 'deb $MIRROR bookworm main' > /etc/apt/sources.list && \
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
  --no-install-recommends ${packages[*]}" > "$work/apt.log" 2>&1 || { tail -20 "$work/apt.log" >&2; exit 1; }
sizes > "$work/after"
echo "check-runtime: installed beyond the base (KiB per package):"
join -t $'\t' -v 2 -1 1 -2 1 "$work/before" "$work/after" | sort -t $'\t' -k2 -n -r |
  awk -F'\t' '{ printf "  %-26s %8d KiB\n", $1, $2; total += $2 }
              END { printf "  %-26s %8d KiB = %.1f MB (goal <= 150 MB)\n", "total", total, total / 1024 }'

mkdir -p "$work/opt/inferd" "$work/models"
cp "$ROOT/$BUILD_DIR/inferd" "$ROOT/$BUILD_DIR/libinferd_onnx.so" "$ROOT/$BUILD_DIR/libinferd_grpc.so" \
  "$ROOT/$BUILD_DIR/libinferd_postgres.so" "$work/opt/inferd/"
cp -r "$ROOT/examples/models/breast_cancer" "$ROOT/examples/models/breast_cancer_mlp" "$work/models/"
missing=$(chroot "$work" /bin/sh -c 'ldd /opt/inferd/inferd /opt/inferd/libinferd_*.so' | grep "not found" || true)
if [[ -n $missing ]]; then
  echo "check-runtime: FAILED: libraries the packages do not provide:" >&2
  echo "$missing" >&2
  exit 1
fi
# The state in PostgreSQL on the host (the root shares its network).
pgdir=$(mktemp -d)
pgport=$(( 20000 + RANDOM % 20000 ))
pgurl=$("$ROOT/tests/postgres/cluster.sh" start "$pgdir/pg" "$pgport")
chroot "$work" /opt/inferd/inferd serve --model-repository /models --host 127.0.0.1 \
  --http-port 0 --grpc-port 0 --state "$pgurl" > "$work/serve.out" 2> "$work/serve.err" &
pid=$!
for _ in $(seq 100); do grep -q "HTTP listening" "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*HTTP listening on .*:\([0-9]*\)$/\1/p' "$work/serve.out")
grpc=$(sed -n 's/.*gRPC listening on .*:\([0-9]*\)$/\1/p' "$work/serve.out")
if [[ -z $port || -z $grpc ]]; then
  echo "check-runtime: FAILED: inferd did not start in the root:" >&2
  cat "$work/serve.err" >&2
  exit 1
fi
chroot "$work" /opt/inferd/inferd health --server "http://127.0.0.1:$port" ||
  { echo "check-runtime: FAILED: not ready" >&2; cat "$work/serve.err" >&2; exit 1; }
request=$(cat "$ROOT/examples/requests/breast_cancer.json")
# The probability of class 1 for the request's row: libxgboost's (examples/requests/expected.txt)
# and ONNX Runtime's (breast_cancer_mlp_expected.json).
declare -A want=([breast_cancer]=0.0127371093 [breast_cancer_mlp]=6.6261303e-09)
for model in breast_cancer breast_cancer_mlp; do
  answer=$(exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'POST /v2/models/%s/infer HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s' \
    "$model" "${#request}" "$request" >&3 && cat <&3)
  code=$(head -1 <<< "$answer" | awk '{print $2}')
  [[ $code == 200 ]] || { echo "check-runtime: FAILED: $model infer answered $code" >&2; exit 1; }
  p1=$(grep -o '"name":"probabilities"[^}]*' <<< "$answer" | sed -n 's/.*"data":\[\([^]]*\)\].*/\1/p' | cut -d, -f2)
  awk -v got="$p1" -v want="${want[$model]}" 'BEGIN { d = got - want; if (d < 0) d = -d;
      exit !(got != "" && d <= 1e-5) }' ||
    { echo "check-runtime: FAILED: $model answered p(1) = '$p1', expected ${want[$model]}" >&2; exit 1; }
done
grep -q "state store: postgres://" "$work/serve.err" ||
  { echo "check-runtime: FAILED: the state store is not PostgreSQL" >&2; cat "$work/serve.err" >&2; exit 1; }
echo "check-runtime: OK: the forest and the ONNX MLP answer right, gRPC listens on $grpc, the state is in PostgreSQL, every library resolves"
