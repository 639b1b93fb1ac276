#!/usr/bin/env bash
# ctest's deploy_manifests test: installs the pinned npm packages once (package-lock.json), then
# validates deploy/k8s and deploy/kserve (validate.mjs says what it checks and what it skips).
set -euo pipefail
cd "$(dirname "$0")"
command -v node >/dev/null || { echo "deploy_manifests: node is missing: scripts/install-deps.sh test" >&2; exit 1; }
if [[ ! -d node_modules/kubernetes-models ]]; then
  # The npm registry unreachable (no network, or a proxy whose CA this machine lacks) is the
  # machine's problem, not the manifests': ctest reports the test as skipped (77), with the reason
  # — except in CI (CI=true), which must check.
  if ! npm ci --ignore-scripts --no-audit --no-fund --loglevel=error > npm.log 2>&1; then
    echo "deploy_manifests: npm ci failed (the npm registry is needed for kubernetes-models):"
    grep -m3 "npm ERR!" npm.log || tail -3 npm.log
    [[ ${CI:-} == true ]] && exit 1
    echo "deploy_manifests: SKIPPED"
    exit 77
  fi
fi
node validate.mjs
# The check can fail: a copy of deploy/ with a misspelt KServe field and a port that is no number.
broken=$(mktemp -d)
trap 'rm -rf "$broken"' EXIT
cp -r ../../deploy "$broken/"
sed -i 's/^  protocolVersions:/  protocolVersion:/' "$broken/deploy/kserve/servingruntime.yaml"
sed -i 's/containerPort: 8080/containerPort: eighty/' "$broken/deploy/k8s/deployment.yaml"
if out=$(node validate.mjs "$broken" 2>&1); then
  echo "deploy_manifests: the broken manifests passed" >&2
  exit 1
fi
grep -q "spec.protocolVersion: is not a field of the KServe API" <<< "$out" ||
  { echo "deploy_manifests: the misspelt KServe field was not reported: $out" >&2; exit 1; }
grep -q "FAIL apps/v1/Deployment inferd" <<< "$out" ||
  { echo "deploy_manifests: the bad port was not reported: $out" >&2; exit 1; }
echo "deploy_manifests: broken manifests are refused"
