#!/usr/bin/env node
// Validates the deployment manifests offline:
//   - deploy/k8s, rendered with `kubectl kustomize` (kubectl is required). Each resource is checked against its schema with the npm
//     `kubernetes-models` package (and `@kubernetes-models/prometheus-operator` for the
//     ServiceMonitor). Then what inferd needs is checked: probes on the health routes, the three
//     ports, the drain, and the autoscaler's metrics.
//   - deploy/kserve, against the fields of KServe's API documentation (serving.kserve.io v1alpha1
//     ServingRuntime, v1beta1 InferenceService), which no npm package models. The runtime's
//     containers are checked as Kubernetes Containers. Unknown fields are errors.
// Prints one line per resource; exits 1 on the first failure.
//
//   (cd tests/deploy && npm ci --ignore-scripts) && node tests/deploy/validate.mjs [ROOT]
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';

// The tree whose deploy/ is checked (default: this checkout; run.sh passes a broken copy too).
const root = process.argv[2] || join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let failures = 0;
const fail = (what, why) => {
  console.log(`FAIL ${what}: ${why}`);
  failures++;
};
const ok = (what) => console.log(`ok   ${what}`);
const expect = (cond, what, why) => {
  if (!cond) fail(what, why);
  return cond;
};

// ---- deploy/k8s -------------------------------------------------------------------------------
const models = {
  'v1/ConfigMap': 'kubernetes-models/v1/ConfigMap',
  'v1/Secret': 'kubernetes-models/v1/Secret',
  'v1/Service': 'kubernetes-models/v1/Service',
  'apps/v1/Deployment': 'kubernetes-models/apps/v1/Deployment',
  'policy/v1/PodDisruptionBudget': 'kubernetes-models/policy/v1/PodDisruptionBudget',
  'autoscaling/v2/HorizontalPodAutoscaler': 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
  'monitoring.coreos.com/v1/ServiceMonitor':
    '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor',
};

let rendered;
try {
  rendered = execFileSync('kubectl', ['kustomize', join(root, 'deploy/k8s')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  ok('deploy/k8s renders with kubectl kustomize');
} catch (e) {
  // (Without kubectl there is nothing to check: the ConfigMap and the Secret exist only as the
  // kustomization's generators make them.)
  fail('kubectl kustomize deploy/k8s', e.code === 'ENOENT'
    ? 'kubectl is not installed (kubernetes-client: scripts/install-deps.sh test)'
    : String(e.stderr || e.message));
  process.exit(1);
}
const docs = yaml.loadAll(rendered).filter(Boolean);
const byKind = {};
for (const doc of docs) {
  const key = `${doc.apiVersion}/${doc.kind}`;
  const what = `${key} ${doc.metadata?.name}`;
  byKind[doc.kind] = doc;
  const path = models[key];
  if (!expect(path, what, 'no schema for this kind')) continue;
  if (doc.kind === 'Secret' && doc.data) {
    // kustomize wraps base64 at 76 columns; the API server's decoder skips the line breaks, the
    // schema's "byte" pattern does not.
    for (const k of Object.keys(doc.data)) doc.data[k] = doc.data[k].replace(/\s+/g, '');
  }
  const mod = await import(path);
  const Model = mod[doc.kind];
  try {
    new Model(doc).validate();
    ok(`${what} (kubernetes-models)`);
  } catch (e) {
    fail(what, e.message);
  }
}
for (const kind of ['Deployment', 'Service', 'PodDisruptionBudget', 'HorizontalPodAutoscaler',
  'ServiceMonitor', 'ConfigMap', 'Secret']) {
  expect(byKind[kind], 'deploy/k8s', `has no ${kind}`);
}
const dep = byKind.Deployment;
if (dep) {
  const before = failures;
  const c = dep.spec.template.spec.containers[0];
  const ports = Object.fromEntries((c.ports || []).map((p) => [p.name, p.containerPort]));
  expect(ports.http === 8080 && ports.grpc === 8081 && ports.metrics === 8082, 'Deployment',
    `ports must be http 8080, grpc 8081, metrics 8082: ${JSON.stringify(ports)}`);
  expect(c.readinessProbe?.httpGet?.path === '/v2/health/ready', 'Deployment', 'readiness probe');
  expect(c.startupProbe?.httpGet?.path === '/v2/health/ready', 'Deployment', 'startup probe');
  expect(c.livenessProbe?.httpGet?.path === '/v2/health/live', 'Deployment', 'liveness probe');
  expect(c.lifecycle?.preStop, 'Deployment', 'no preStop');
  expect(c.resources?.requests?.cpu && c.resources?.limits?.memory, 'Deployment', 'resources');
  const drain = (c.args || []).join(' ');
  const grace = dep.spec.template.spec.terminationGracePeriodSeconds;
  const m = /--drain-grace=(\d+).*--drain-timeout=(\d+)/.exec(drain);
  expect(m && grace > Number(m[1]) + Number(m[2]), 'Deployment',
    'terminationGracePeriodSeconds must exceed --drain-grace + --drain-timeout');
  const secret = byKind.Secret?.metadata?.name;
  const vols = dep.spec.template.spec.volumes.map((v) => v.secret?.secretName).filter(Boolean);
  expect(vols.includes(secret), 'Deployment', `does not mount the generated Secret ${secret}`);
  const env = (c.envFrom || []).map((e) => e.configMapRef?.name);
  expect(env.includes(byKind.ConfigMap?.metadata?.name), 'Deployment', 'does not read the ConfigMap');
  // Shared state: INFERD_STATE (a postgres:// URL) from a Secret the user creates, optional so that
  // a pod starts without it (with local state).
  const state = (c.env || []).find((e) => e.name === 'INFERD_STATE')?.valueFrom?.secretKeyRef;
  expect(state?.name && state.key && state.optional === true, 'Deployment',
    'INFERD_STATE must come from an optional secretKeyRef (replicas sharing PostgreSQL)');
  if (failures === before) {
    ok('Deployment: probes on the health routes, ports, drain, resources, ConfigMap, Secrets, state');
  }
}
const svc = byKind.Service;
if (svc) {
  const names = svc.spec.ports.map((p) => p.name).sort().join(',');
  expect(names === 'grpc,http,metrics', 'Service', `ports ${names}`);
  const sel = svc.spec.selector['app.kubernetes.io/name'];
  expect(sel === dep?.spec.template.metadata.labels['app.kubernetes.io/name'], 'Service',
    'selector does not match the pods');
}
const hpa = byKind.HorizontalPodAutoscaler;
if (hpa) {
  const kinds = hpa.spec.metrics.map((m) => m.type === 'Resource' ? m.resource.name : m.pods?.metric?.name);
  expect(kinds.includes('cpu') && kinds.includes('inferd_inference_in_flight'), 'HorizontalPodAutoscaler',
    `metrics ${kinds}`);
  expect(hpa.spec.scaleTargetRef.name === dep?.metadata.name, 'HorizontalPodAutoscaler', 'target');
}
expect(byKind.ServiceMonitor?.spec.endpoints[0].port === 'metrics', 'ServiceMonitor', 'scrapes metrics');

// ---- deploy/kserve ----------------------------------------------------------------------------
// The fields of KServe's API reference (serving.kserve.io): what each object may hold.
const ServingRuntimeSpec = {
  supportedModelFormats: [{ name: 'string!', version: 'string', autoSelect: 'boolean', priority: 'number' }],
  protocolVersions: ['enum:v1,v2,grpc-v1,grpc-v2'],
  containers: ['Container'],
  multiModel: 'boolean', disabled: 'boolean', grpcEndpoint: 'string', grpcDataEndpoint: 'string',
  httpDataEndpoint: 'string', replicas: 'number', storageHelper: 'object', builtInAdapter: 'object',
  annotations: 'map', labels: 'map', nodeSelector: 'map', affinity: 'object', tolerations: 'array',
  volumes: 'array', imagePullSecrets: 'array', hostIPC: 'boolean',
};
const ModelSpec = {
  modelFormat: { name: 'string!', version: 'string' },
  runtime: 'string', storageUri: 'string', protocolVersion: 'enum:v1,v2,grpc-v1,grpc-v2',
  args: 'array', env: 'array', resources: 'object', image: 'string',
};
const PredictorSpec = {
  model: ModelSpec, minReplicas: 'number', maxReplicas: 'number', canaryTrafficPercent: 'percent',
  scaleTarget: 'number', scaleMetric: 'enum:cpu,memory,concurrency,rps', containerConcurrency: 'number',
  timeout: 'number', serviceAccountName: 'string', nodeSelector: 'map', tolerations: 'array',
  annotations: 'map', labels: 'map', logger: 'object', batcher: 'object',
};
const InferenceServiceSpec = { predictor: PredictorSpec, transformer: 'object', explainer: 'object' };
const Metadata = { name: 'string!', namespace: 'string', annotations: 'map', labels: 'map' };

async function check(value, schema, where) {
  if (typeof schema === 'string') {
    const type = schema.replace(/!$/, '');
    if (type === 'Container') {
      const { Container } = await import('kubernetes-models/v1/Container');
      try {
        new Container(value).validate();
      } catch (e) {
        return fail(where, e.message);
      }
      return;
    }
    if (type.startsWith('enum:')) {
      return expect(type.slice(5).split(',').includes(value), where, `'${value}' is not one of ${type.slice(5)}`);
    }
    if (type === 'percent') {
      return expect(Number.isInteger(value) && value >= 0 && value <= 100, where, 'must be 0 to 100');
    }
    if (type === 'map') {
      return expect(value && typeof value === 'object' &&
        Object.values(value).every((v) => typeof v === 'string'), where, 'must map strings to strings');
    }
    if (type === 'array') return expect(Array.isArray(value), where, 'must be a list');
    if (type === 'object') return expect(value && typeof value === 'object', where, 'must be an object');
    return expect(typeof value === type, where, `must be a ${type}`);
  }
  if (Array.isArray(schema)) {
    if (!expect(Array.isArray(value), where, 'must be a list')) return;
    for (let i = 0; i < value.length; i++) await check(value[i], schema[0], `${where}[${i}]`);
    return;
  }
  if (!expect(value && typeof value === 'object' && !Array.isArray(value), where, 'must be an object')) return;
  for (const key of Object.keys(value)) {
    if (!(key in schema)) fail(`${where}.${key}`, 'is not a field of the KServe API');
    else await check(value[key], schema[key], `${where}.${key}`);
  }
  for (const [key, s] of Object.entries(schema)) {
    if (typeof s === 'string' && s.endsWith('!') && !(key in value)) fail(`${where}.${key}`, 'is required');
  }
}

const kserve = {};
for (const file of readdirSync(join(root, 'deploy/kserve')).filter((f) => f.endsWith('.yaml')).sort()) {
  const doc = yaml.load(readFileSync(join(root, 'deploy/kserve', file), 'utf8'));
  const what = `deploy/kserve/${file}`;
  const before = failures;
  const top = Object.keys(doc).filter((k) => !['apiVersion', 'kind', 'metadata', 'spec'].includes(k));
  expect(top.length === 0, what, `unknown top-level fields ${top}`);
  await check(doc.metadata, Metadata, `${what} metadata`);
  if (doc.apiVersion === 'serving.kserve.io/v1alpha1' && doc.kind === 'ServingRuntime') {
    await check(doc.spec, ServingRuntimeSpec, `${what} spec`);
    kserve.runtime = doc;
  } else if (doc.apiVersion === 'serving.kserve.io/v1beta1' && doc.kind === 'InferenceService') {
    await check(doc.spec, InferenceServiceSpec, `${what} spec`);
    (kserve.services ||= []).push([file, doc]);
  } else {
    fail(what, `${doc.apiVersion} ${doc.kind} is not a KServe resource this test knows`);
  }
  if (failures === before) ok(`${what}: ${doc.kind} (KServe API fields)`);
}
const rt = kserve.runtime;
if (expect(rt, 'deploy/kserve', 'has no ServingRuntime')) {
  const before = failures;
  const formats = rt.spec.supportedModelFormats.map((f) => f.name).sort().join(',');
  expect(formats === 'lightgbm,onnx,xgboost', 'ServingRuntime', `formats ${formats}`);
  expect(rt.spec.protocolVersions.includes('v2'), 'ServingRuntime', 'protocol v2');
  const c = rt.spec.containers[0];
  expect(c.name === 'kserve-container', 'ServingRuntime', 'the container must be kserve-container');
  const args = c.args.join(' ');
  for (const a of ['--model-dir=/mnt/models', '--http-port=8080', '--grpc-port=8081']) {
    expect(args.includes(a), 'ServingRuntime', `args lack ${a}`);
  }
  expect(c.ports?.[0]?.containerPort === 8080, 'ServingRuntime', 'HTTP port 8080');
  expect(rt.metadata.annotations?.['prometheus.kserve.io/port'], 'ServingRuntime', 'Prometheus annotations');
  for (const [file, isvc] of kserve.services || []) {
    const m = isvc.spec.predictor.model;
    expect(m.runtime === rt.metadata.name, file, `runtime ${m.runtime} is not ${rt.metadata.name}`);
    expect(rt.spec.supportedModelFormats.some((f) => f.name === m.modelFormat.name), file,
      `format ${m.modelFormat.name} is not the runtime's`);
  }
  expect((kserve.services || []).some(([, s]) => s.spec.predictor.canaryTrafficPercent > 0),
    'deploy/kserve', 'has no canary example');
  if (failures === before) {
    ok('ServingRuntime: formats, protocol, kserve-container, ports; InferenceServices use it');
  }
}

console.log(failures ? `${failures} failures` : 'all manifests valid');
process.exit(failures ? 1 : 0);
