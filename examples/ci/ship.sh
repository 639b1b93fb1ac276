#!/usr/bin/env bash
# Ship one model version to a running inferd with the CLI only: pin what serves now, publish the
# version, validate it against stable (its gates), send it a canary share, watch it on live
# traffic, then promote it or take its traffic away. The GitHub Actions workflow and the
# Jenkinsfile beside this script run its stages one by one; `ship.sh all` runs them in order
# (tests/e2e/ship_test.cc does, against a local server).
#
#   examples/ci/ship.sh all|pin|publish|validate|canary|watch|promote|rollback
#
# Settings (environment):
#   MODEL, VERSION       the model's name and the version to ship (required)
#   MODEL_DIR            the model directory holding VERSION (and the versions it is checked
#                        against): default models/$MODEL
#   HOLDOUT, LABEL       labelled held-out data (CSV with a header) and its label column (required)
#   GATES                gates.yaml (default: the one beside this script)
#   REPOSITORY           the server's model repository, when this machine can write to it
#                        (mounted or synced); unset: the version is already there
#   INFERD_URL           the server (default http://127.0.0.1:8000); INFERD_TOKEN its credential
#   INFERD               the inferd binary (default: inferd on the PATH)
#   CANARY_WEIGHT        percent of the traffic for the canary (default 10)
#   WATCH_SECONDS, WATCH_INTERVAL, MIN_REQUESTS, MAX_ERROR_RATE, MAX_LATENCY_RATIO
#                        rollout watch's limits (defaults 600, 30, 100, 0.01, 1.5)
# Exit codes: 0 shipped (or the stage succeeded); 1 stopped by a gate or rolled back; 2 an error.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${MODEL:?set MODEL}" "${VERSION:?set VERSION}"
MODEL_DIR=${MODEL_DIR:-models/$MODEL}
GATES=${GATES:-$here/gates.yaml}
INFERD=${INFERD:-inferd}
INFERD_URL=${INFERD_URL:-http://127.0.0.1:8000}
export INFERD_TOKEN=${INFERD_TOKEN:-}
server=(--server "$INFERD_URL")

stage() { echo "== $1: $2"; }

pin() {
  stage pin "what serves $MODEL now stays stable; new versions take no traffic until told"
  "$INFERD" rollout pin "$MODEL" "${server[@]}" > /dev/null
}

publish() {
  if [[ -n "${REPOSITORY:-}" ]]; then
    stage publish "$MODEL_DIR/$VERSION -> $REPOSITORY/$MODEL/$VERSION"
    mkdir -p "$REPOSITORY/$MODEL"
    # Copied under a temporary name and renamed: the server never sees half a version.
    rm -rf "$REPOSITORY/$MODEL/.$VERSION.tmp"
    cp -r "$MODEL_DIR/$VERSION" "$REPOSITORY/$MODEL/.$VERSION.tmp"
    mv "$REPOSITORY/$MODEL/.$VERSION.tmp" "$REPOSITORY/$MODEL/$VERSION"
  fi
  stage publish "waiting for $MODEL version $VERSION to be ready"
  "$INFERD" model load "$MODEL" --version "$VERSION" --wait 120 "${server[@]}"
}

validate() {
  : "${HOLDOUT:?set HOLDOUT}" "${LABEL:?set LABEL}"
  stage validate "$MODEL@$VERSION against stable on $HOLDOUT"
  "$INFERD" validate "$MODEL_DIR@$VERSION" --data "$HOLDOUT" --label "$LABEL" \
    --against stable --gates "$GATES" "${server[@]}"
}

canary() {
  stage canary "${CANARY_WEIGHT:-10}% of the traffic to version $VERSION"
  "$INFERD" rollout set "$MODEL" --canary "$VERSION" --weight "${CANARY_WEIGHT:-10}" \
    "${server[@]}" > /dev/null
}

watch() {
  stage watch "the canary for ${WATCH_SECONDS:-600} s"
  "$INFERD" rollout watch "$MODEL" --canary "$VERSION" --duration "${WATCH_SECONDS:-600}" \
    --interval "${WATCH_INTERVAL:-30}" --min-requests "${MIN_REQUESTS:-100}" \
    --max-error-rate "${MAX_ERROR_RATE:-0.01}" --max-latency-ratio "${MAX_LATENCY_RATIO:-1.5}" \
    "${server[@]}"
}

promote() {
  stage promote "version $VERSION becomes stable"
  "$INFERD" rollout promote "$MODEL" --version "$VERSION" "${server[@]}" > /dev/null
}

rollback() {
  stage rollback "version $VERSION takes no traffic; stable serves all"
  "$INFERD" rollout set "$MODEL" --canary "$VERSION" --weight 0 "${server[@]}" > /dev/null
}

case "${1:-all}" in
  pin|publish|validate|canary|watch|promote|rollback) "$1" ;;
  all)
    pin
    publish
    if ! validate; then
      echo "stopped: version $VERSION failed its gates; it takes no traffic"
      exit 1
    fi
    canary
    if watch; then
      promote
      echo "shipped: $MODEL version $VERSION is stable"
    else
      rollback
      echo "rolled back: $MODEL version $VERSION takes no traffic"
      exit 1
    fi
    ;;
  *) echo "usage: $0 all|pin|publish|validate|canary|watch|promote|rollback" >&2; exit 2 ;;
esac
