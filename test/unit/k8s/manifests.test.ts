/**
 * The Kubernetes manifests (k8s/), rendered by the real kustomize and validated offline: strict
 * schemas for every object (an unknown field fails), and cross-checks against the code (config
 * variables, topics, ACLs, metric names). Each check is also shown failing on a broken copy, so a
 * check that silently accepts everything would be caught here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/shared/config';
import type { Config } from '../../../src/shared/config';
import type { K8sObject } from './checks';
import {
  aclProblems,
  configMap,
  configMapProblems,
  container,
  containerEnvProblems,
  exportedLabels,
  exportedSeries,
  find,
  one,
  podEnv,
  podSpec,
  promqlProblems,
  render,
  scaledObjectProblems,
  schemaProblems,
  spec,
  topicProblems,
  unknownMetrics,
} from './checks';

jest.setTimeout(600_000);

const OVERLAYS = ['cpu', 'gpu'] as const;
const rendered = new Map<string, K8sObject[]>();
let scratch: string;

beforeAll(() => {
  // The first run installs the pinned kustomize (go install, about a minute).
  for (const o of OVERLAYS) rendered.set(o, render(`overlays/${o}`));
  scratch = mkdtempSync(join(tmpdir(), 'idrift-k8s-'));
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const clone = <T>(x: T): T => structuredClone(x);
const objects = (overlay: string): K8sObject[] => rendered.get(overlay) ?? [];

function podConfig(objs: K8sObject[]): Config {
  return loadConfig(podEnv(objs, scratch).env);
}

describe.each(OVERLAYS)('k8s/overlays/%s', (overlay) => {
  it('renders the kinds a deployment needs', () => {
    const kinds = new Set(objects(overlay).map((o) => o.kind));
    for (const k of [
      'Deployment',
      'ConfigMap',
      'Service',
      'PodDisruptionBudget',
      'NetworkPolicy',
      'ScaledObject',
      'TriggerAuthentication',
      'KafkaTopic',
      'KafkaUser',
      'ServiceMonitor',
      'PrometheusRule',
    ]) {
      expect(kinds).toContain(k);
    }
  });

  it('validates every object against its strict schema', () => {
    expect(objects(overlay).flatMap(schemaProblems)).toEqual([]);
  });

  it('has a ConfigMap whose keys are exactly config variables, and a pod environment that loads', () => {
    const objs = objects(overlay);
    expect(configMapProblems(configMap(objs))).toEqual([]);
    expect(containerEnvProblems(one(objs, 'Deployment'))).toEqual([]);
    const { env, problems } = podEnv(objs, scratch);
    expect(problems).toEqual([]);
    const config = loadConfig(env);
    expect(config.kafka.sasl?.mechanism).toBe('scram-sha-512');
    expect(config.kafka.tls).not.toBeNull();
    expect(config.kafka.createTopics).toBe(false);
    // the envFrom reference is the generated (hash-suffixed) ConfigMap
    expect(container(one(objs, 'Deployment')).envFrom?.[0]?.configMapRef?.name).toBe(
      configMap(objs).metadata.name,
    );
  });

  it('probes /healthz and /readyz on the configured port, reachable from outside the pod', () => {
    const objs = objects(overlay);
    const config = podConfig(objs);
    const c = container(one(objs, 'Deployment'));
    const port = (c.ports ?? []).find((p) => p.name === 'http');
    expect(port?.containerPort).toBe(config.http.port);
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(config.http.host).toBe('0.0.0.0');
  });

  it('gives the pod more termination grace than the shutdown budget', () => {
    const objs = objects(overlay);
    const config = podConfig(objs);
    const graceS = podSpec(one(objs, 'Deployment')).terminationGracePeriodSeconds ?? 30;
    expect(graceS * 1000).toBeGreaterThan(config.shutdown.graceMs + config.shutdown.forceMs);
  });

  it('declares the topics of src/kafka/topics.ts and exactly the ACLs the service needs', () => {
    const objs = objects(overlay);
    const config = podConfig(objs);
    expect(topicProblems(objs, config)).toEqual([]);
    expect(aclProblems(one(objs, 'KafkaUser'), config)).toEqual([]);
    expect(one(objs, 'KafkaUser').metadata.name).toBe(config.kafka.sasl?.username);
  });

  it('autoscales on the consumer lag, never past the input partitions', () => {
    const objs = objects(overlay);
    expect(scaledObjectProblems(objs, podConfig(objs))).toEqual([]);
  });

  it('lets lookup clients of any namespace reach the HTTP port of every pod, and only Prometheus besides', () => {
    const objs = objects(overlay);
    const httpPort = (container(one(objs, 'Deployment')).ports ?? []).find(
      (p) => p.name === 'http',
    )?.containerPort;
    const rules = (spec(one(objs, 'NetworkPolicy')).ingress ?? []) as {
      from?: {
        namespaceSelector?: { matchLabels?: Record<string, string> };
        podSelector?: { matchLabels?: Record<string, string> };
      }[];
      ports?: { port?: number }[];
    }[];
    /** Does some rule admit a pod with `labels` in a namespace with `nsLabels` to `port`? */
    const admits = (
      nsLabels: Record<string, string>,
      labels: Record<string, string>,
      port: number,
    ): boolean =>
      rules.some(
        (r) =>
          (r.ports ?? []).some((p) => p.port === port) &&
          (r.from ?? []).some(
            (peer) =>
              peer.namespaceSelector !== undefined &&
              Object.entries(peer.namespaceSelector.matchLabels ?? {}).every(([k, v]) => nsLabels[k] === v) &&
              Object.entries(peer.podSelector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v),
          ),
      );
    expect(httpPort).toBeDefined();
    const port = httpPort as number;
    const bidding = { 'kubernetes.io/metadata.name': 'ad-bidding' };
    expect(admits(bidding, { app: 'bidder', 'interest-drift.io/lookup-client': 'true' }, port)).toBe(true);
    expect(admits(bidding, { app: 'bidder' }, port)).toBe(false);
    expect(
      admits(
        { 'kubernetes.io/metadata.name': 'monitoring' },
        { 'app.kubernetes.io/name': 'prometheus' },
        port,
      ),
    ).toBe(true);
  });

  it('selects the pods from the Service, PDB, NetworkPolicy and ServiceMonitor', () => {
    const objs = objects(overlay);
    const podLabels = spec(one(objs, 'Deployment')).template?.metadata?.labels ?? {};
    const matches = (sel: Record<string, unknown> | undefined, labels: Record<string, string>): boolean =>
      sel !== undefined && Object.entries(sel).every(([k, v]) => labels[k] === v);
    const service = one(objs, 'Service');
    expect(matches(spec(service).selector, podLabels)).toBe(true);
    expect(matches(spec(one(objs, 'PodDisruptionBudget')).selector?.matchLabels, podLabels)).toBe(true);
    expect(matches(spec(one(objs, 'NetworkPolicy')).podSelector?.matchLabels, podLabels)).toBe(true);
    const sm = spec(one(objs, 'ServiceMonitor'));
    expect(matches(sm.selector?.matchLabels, service.metadata.labels ?? {})).toBe(true);
    const portNames = (spec(service).ports ?? []).map((p) => p.name);
    expect(sm.endpoints?.length).toBeGreaterThan(0);
    for (const e of sm.endpoints ?? []) {
      expect(portNames).toContain(e.port);
      expect(e.path).toBe('/metrics');
    }
  });

  it('uses only metric names the service exports, in alerts and the dashboard', () => {
    const known = exportedSeries();
    const rules = (spec(one(objects(overlay), 'PrometheusRule')).groups ?? []).flatMap((g) => g.rules);
    expect(rules.flatMap((r) => unknownMetrics(r.expr, known))).toEqual([]);
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'InterestDriftLagGrowing',
        'InterestDriftLoopStalled',
        'InterestDriftDeadLetterRate',
        'InterestDriftCpuFallbackOnGpuNode',
        'InterestDriftRestoreSlow',
      ]),
    );
    const dashboard = JSON.parse(
      one(objects(overlay), 'ConfigMap', 'interest-drift-dashboard').data?.['interest-drift.json'] ?? '{}',
    ) as { panels: { title: string; targets: { expr: string }[] }[] };
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(10);
    expect(exprs.flatMap((e) => unknownMetrics(e, known))).toEqual([]);
  });

  it('writes alert and dashboard expressions that Prometheus parses, matching labels the series carry', () => {
    const labels = exportedLabels();
    const rules = (spec(one(objects(overlay), 'PrometheusRule')).groups ?? []).flatMap((g) => g.rules);
    const dashboard = JSON.parse(
      one(objects(overlay), 'ConfigMap', 'interest-drift-dashboard').data?.['interest-drift.json'] ?? '{}',
    ) as { panels: { targets: { expr: string }[] }[] };
    const exprs = [
      ...rules.map((r) => r.expr),
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
    ];
    expect(exprs.length).toBeGreaterThan(20);
    expect(exprs.flatMap((e) => promqlProblems(e, labels))).toEqual([]);
  });
});

describe('GPU and CPU variants', () => {
  it('GPU: one nvidia.com/gpu, GPU nodes only, CUDA required; CPU: no GPU, CPU provider', () => {
    const gpu = objects('gpu');
    const pod = podSpec(one(gpu, 'Deployment'));
    expect(container(one(gpu, 'Deployment')).resources?.limits?.['nvidia.com/gpu']).toBe(1);
    expect(pod.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
    expect(pod.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(podConfig(gpu).model.executionProvider).toBe('cuda');
    expect(container(one(gpu, 'Deployment')).image).toMatch(/-cuda$/);

    const cpu = objects('cpu');
    expect(JSON.stringify(one(cpu, 'Deployment'))).not.toContain('nvidia');
    expect(podConfig(cpu).model.executionProvider).toBe('cpu');
  });
});

describe('the checks reject broken manifests', () => {
  const objs = (): K8sObject[] => clone(objects('cpu'));

  it('an unknown field, a wrong type, an unknown kind (built-in and CRD)', () => {
    const d = clone(one(objs(), 'Deployment'));
    container(d).imagePullPolicyy = 'Always';
    expect(schemaProblems(d).join('\n')).toMatch(/additional properties "imagePullPolicyy"/);
    const d2 = clone(one(objs(), 'Deployment'));
    spec(d2).replicas = 'two';
    expect(schemaProblems(d2).join('\n')).toMatch(/replicas must be integer/);
    const t = clone(find(objs(), 'KafkaTopic')[0] as K8sObject);
    spec(t).partition = 12;
    expect(schemaProblems(t).join('\n')).toMatch(/additional properties "partition"/);
    const u = clone(one(objs(), 'KafkaUser'));
    const acl0 = spec(u).authorization?.acls[0];
    if (acl0) acl0.resource.patternType = 'prefixed';
    expect(schemaProblems(u).join('\n')).toMatch(/patternType must be equal to one of the allowed values/);
    const so = clone(one(objs(), 'ScaledObject'));
    const trigger = spec(so).triggers?.[0];
    if (trigger) trigger.metadata.lagThreshold = 20000;
    expect(schemaProblems(so).length).toBeGreaterThan(0);
    const sm = clone(one(objs(), 'ServiceMonitor'));
    const endpoint = spec(sm).endpoints?.[0];
    if (endpoint) endpoint.intervall = '15s';
    expect(schemaProblems(sm).join('\n')).toMatch(/"intervall"/);
    expect(schemaProblems({ ...d, kind: 'Deploymnet' }).join('\n')).toMatch(/no schema/);
  });

  it('a Strimzi v1beta2 object, or a v1 ACL with the singular operation Strimzi 1.x dropped', () => {
    const t = clone(find(objs(), 'KafkaTopic')[0] as K8sObject);
    expect(schemaProblems(t)).toEqual([]);
    expect(schemaProblems({ ...t, apiVersion: 'kafka.strimzi.io/v1beta2' }).join('\n')).toMatch(/no schema/);
    const u = clone(one(objs(), 'KafkaUser'));
    expect(schemaProblems({ ...u, apiVersion: 'kafka.strimzi.io/v1beta2' }).join('\n')).toMatch(/no schema/);
    const acl0 = spec(u).authorization?.acls[0] as Record<string, unknown> | undefined;
    if (acl0) {
      acl0.operation = 'Read';
      delete acl0.operations;
    }
    const problems = schemaProblems(u).join('\n');
    expect(problems).toMatch(/additional properties "operation"/);
    expect(problems).toMatch(/must have required property 'operations'/);
  });

  it('a ConfigMap key the config does not know, or a secret in the ConfigMap', () => {
    const cm = clone(configMap(objs()));
    cm.data = { ...cm.data, IDRIFT_KAFKA_BROKER: 'x:9092', IDRIFT_KAFKA_SASL_PASSWORD: 'hunter2' };
    expect(configMapProblems(cm)).toEqual([
      'ConfigMap key IDRIFT_KAFKA_BROKER is not a variable of src/shared/config.ts',
      'ConfigMap key IDRIFT_KAFKA_SASL_PASSWORD is a secret: reference a Secret instead',
    ]);
  });

  it('topics that drift from the code, ACLs that are missing or too broad, KEDA past the partitions', () => {
    const o = objs();
    const config = podConfig(o);
    const changelog = find(o, 'KafkaTopic').find((t) => t.metadata.name === config.topics.userStateChangelog);
    if (!changelog) throw new Error('no changelog topic');
    spec(changelog).config = { ...spec(changelog).config, 'cleanup.policy': 'delete' };
    spec(changelog).partitions = 6;
    expect(topicProblems(o, config)).toEqual([
      'interest-drift.user-state: 6 partitions, the code expects 12',
      'interest-drift.user-state: cleanup.policy=delete, the code sets compact',
    ]);

    const user = clone(one(o, 'KafkaUser'));
    const acls = spec(user).authorization?.acls ?? [];
    acls.splice(
      acls.findIndex((a) => a.resource.type === 'group' && a.resource.patternType !== 'prefix'),
      1,
    ); // the consumer group
    acls.push({ resource: { type: 'topic', name: '*' }, operations: ['All'] });
    expect(aclProblems(user, config)).toEqual([
      'KafkaUser lacks group:literal:interest-drift:Read',
      'KafkaUser grants topic:literal:*:All, which the service does not need',
    ]);

    spec(one(o, 'ScaledObject')).maxReplicaCount = 13;
    expect(scaledObjectProblems(o, config)).toEqual(['maxReplicaCount 13 exceeds the 12 input partitions']);
  });

  it('a PromQL syntax error, and a label the series does not carry', () => {
    const labels = exportedLabels();
    expect(promqlProblems('sum(rate(idrift_records_consumed_total[5m])', labels)).toEqual([
      expect.stringMatching(/^syntax error at \d+ in: sum\(rate/),
    ]);
    expect(
      promqlProblems(
        'histogram_quantile(0.99, sum by (le) (rate(idrift_http_request_duration_seconds_bucket{namespace="$namespace", rout="interests"}[$__rate_interval])))',
        labels,
      ),
    ).toEqual(['idrift_http_request_duration_seconds_bucket has no label rout']);
    expect(
      promqlProblems('sum by (code) (rate(idrift_records_dead_lettered_total{code="x"}[5m]))', labels),
    ).toEqual([]);
    expect(promqlProblems('sum by (partiton) (rate(idrift_records_consumed_total[5m]))', labels)).toEqual([
      'idrift_records_consumed_total carry no label partiton to group by',
    ]);
  });

  it('a metric name the service does not export', () => {
    expect(
      unknownMetrics('rate(idrift_records_consumed_total[5m]) / idrift_records_total', exportedSeries()),
    ).toEqual(['idrift_records_total']);
  });

  it('a *_FILE path outside the mounted Secrets', () => {
    const o = objs();
    configMap(o).data = { ...configMap(o).data, IDRIFT_KAFKA_TLS_CA_FILE: '/etc/ssl/kafka-ca.crt' };
    expect(podEnv(o, scratch).problems).toEqual([
      'IDRIFT_KAFKA_TLS_CA_FILE=/etc/ssl/kafka-ca.crt is not a file of a Secret volume mounted into the container',
    ]);
  });
});
