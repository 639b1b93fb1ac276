#!/usr/bin/env bash
# The one place that installs inferd's Debian packages. Idempotent and non-interactive: it installs
# only what is missing, and says what it will install.
#
#   scripts/install-deps.sh [GROUP...]     groups: build test bench peers fixtures tsa fuzz container (default: build)
#
#   build     compiler, cmake and the libraries the server links (OpenSSL: TLS, JWT RS256; libpq:
#             the PostgreSQL module)
#   test      GoogleTest, libxgboost (reference results), Prometheus and promtool (metrics), curl,
#             chromium (the dashboard and drift reports in a real browser), openssl (test
#             certificates), node/npm and kubernetes-client (the Kubernetes and KServe manifests,
#             checked with npm kubernetes-models after `kubectl kustomize`), postgresql and
#             nginx-light (replicas sharing state in PostgreSQL behind nginx)
#   bench     libxgboost and node (ONNX Runtime from npm): the engines' peers; wrk (HTTP load),
#             nginx-light (the HTTP path's peer), time (peak memory of runs), openssl (certificates)
#   peers     the peers of make bench-peers: python3-fastapi, python3-uvicorn (with uvloop and
#             httptools) and python3-xgboost (a FastAPI service), nginx-light, wrk, gnuplot-nox
#             (the plots), node/npm (ONNX Runtime from npm)
#   fixtures  python3-xgboost, python3-sklearn, python3-scipy, python3-torch, python3-onnx and
#             node/npm (ONNX Runtime from npm gives reference outputs), to regenerate the committed
#             test fixtures
#   tsa       clang, for the thread-safety analysis build (make tsa)
#   fuzz      clang and its runtime libraries (libFuzzer, ASan, UBSan), for make fuzz
#   container debootstrap and postgresql, for deploy/check-runtime.sh (the container's runtime
#             packages, its state in PostgreSQL)
set -euo pipefail

declare -A groups=(
  [build]="g++ make cmake pkg-config ccache libboost-dev libsimdjson-dev nlohmann-json3-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev libonnx-dev libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc libdnnl-dev ocl-icd-opencl-dev libsqlite3-dev libssl-dev libpq-dev"
  [test]="libgtest-dev libgmock-dev libxgboost-dev prometheus curl chromium openssl nodejs npm kubernetes-client postgresql nginx-light"
  [bench]="libxgboost-dev wrk nginx-light time nodejs npm python3 openssl"
  [peers]="python3 python3-fastapi python3-uvicorn python3-uvloop python3-httptools python3-xgboost python3-numpy nginx-light wrk gnuplot-nox libxgboost-dev nodejs npm curl"
  [fixtures]="python3 python3-xgboost python3-sklearn python3-scipy python3-torch python3-onnx python3-numpy nodejs npm"
  [tsa]="clang"
  [fuzz]="clang libclang-rt-dev"
  [container]="debootstrap postgresql"
)

wanted=()
for g in "${@:-build}"; do
  if [[ -z "${groups[$g]+x}" ]]; then
    echo "install-deps: unknown group '$g' (known: ${!groups[*]})" >&2
    exit 2
  fi
  for p in ${groups[$g]}; do wanted+=("$p"); done
done

missing=()
for p in "${wanted[@]}"; do
  # A node from another source (e.g. NodeSource) brings its own npm: Debian's npm would conflict.
  if [[ $p == npm ]] && command -v npm >/dev/null; then continue; fi
  if [[ $p == nodejs ]] && command -v node >/dev/null; then continue; fi
  # Likewise a kubectl from another source (e.g. Google's `kubectl` package) owns /usr/bin/kubectl:
  # Debian's kubernetes-client would conflict with it. Any kubectl with `kustomize` will do.
  if [[ $p == kubernetes-client ]] && command -v kubectl >/dev/null; then continue; fi
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Drop duplicates.
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | awk 'NF && !seen[$0]++')
if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
