/**
 * The alert bridge's manifests (k8s/alert-bridge), rendered by the real kustomize: strict schemas,
 * a pod environment the `alert-bridge` command accepts, exactly the ACLs it needs, probes and a
 * scrape on the port it serves, and a network policy that admits only Prometheus and lets it out
 * to Alertmanager.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alertBridgeAccessPlan } from '../../../src/kafka/access-check';
import { alertBridgeGroup } from '../../../src/kafka/alert-bridge';
import { loadConfig } from '../../../src/shared/config';
import type { K8sObject } from './checks';
import {
  aclProblems,
  configMapProblems,
  container,
  containerEnvProblems,
  kafkaUserAcls,
  one,
  podEnv,
  render,
  schemaProblems,
  spec,
} from './checks';

jest.setTimeout(600_000);

let objs: K8sObject[];
let scratch: string;

beforeAll(() => {
  objs = render('alert-bridge');
  scratch = mkdtempSync(join(tmpdir(), 'idrift-k8s-bridge-'));
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('k8s/alert-bridge', () => {
  it('renders valid objects: a Deployment running alert-bridge, its ConfigMap, Service, ServiceMonitor, KafkaUser and NetworkPolicy', () => {
    expect(objs.flatMap(schemaProblems)).toEqual([]);
    expect(container(one(objs, 'Deployment')).args).toEqual(['alert-bridge']);
    const cm = one(objs, 'ConfigMap', 'interest-drift-alert-bridge-config');
    expect(configMapProblems(cm)).toEqual([]);
    expect(containerEnvProblems(one(objs, 'Deployment'))).toEqual([]);
  });

  it('gives the pod an environment the bridge accepts: Alertmanager URL, pseudonym key, its own Kafka user', () => {
    const { env, problems } = podEnv(objs, scratch, 'interest-drift-alert-bridge-config');
    expect(problems).toEqual([]);
    const config = loadConfig(env, { alerting: true }, 'alert-bridge');
    // One URL per replica of an HA Alertmanager, each a pod's own address (not the Service, which
    // would reach one replica per request).
    expect(config.alerts.alertmanagerUrls.length).toBeGreaterThan(1);
    for (const u of config.alerts.alertmanagerUrls)
      expect(u).toMatch(/^https?:\/\/alertmanager-main-\d+\.alertmanager-operated\.monitoring\.svc:9093$/);
    expect(config.logPseudonymKey).toBeTruthy();
    expect(config.kafka.sasl?.username).toBe(one(objs, 'KafkaUser').metadata.name);
  });

  it("grants the KafkaUser exactly: read churn.risk in the bridge's group, write its dead letters", () => {
    const { env } = podEnv(objs, scratch, 'interest-drift-alert-bridge-config');
    const config = loadConfig(env);
    const acls = kafkaUserAcls(one(objs, 'KafkaUser')).map(
      (a) => `${a.type}:${a.patternType}:${a.name}:${a.operation}`,
    );
    expect(acls.sort()).toEqual(
      [
        `topic:literal:${config.topics.churn}:Read`,
        `topic:literal:${config.topics.churn}:Describe`,
        `topic:literal:${config.topics.alertBridgeDeadLetter}:Write`,
        `topic:literal:${config.topics.alertBridgeDeadLetter}:Describe`,
        `group:literal:${alertBridgeGroup(config)}:Read`,
      ].sort(),
    );
    // The same as what the bridge verifies at start.
    expect(aclProblems(one(objs, 'KafkaUser'), config, alertBridgeAccessPlan(config))).toEqual([]);
  });

  it('probes /healthz and /readyz and scrapes /metrics on the port the bridge listens on', () => {
    const { env } = podEnv(objs, scratch, 'interest-drift-alert-bridge-config');
    const config = loadConfig(env, { alerting: true }, 'alert-bridge');
    const c = container(one(objs, 'Deployment'));
    // Plain node: not the image's ENTRYPOINT with the service's young-generation flags.
    expect([c.command, c.args]).toEqual([['node', 'dist/src/main.js'], ['alert-bridge']]);
    const port = (c.ports ?? []).find((p) => p.name === 'http');
    expect(port?.containerPort).toBe(config.http.port);
    expect(config.http.host).toBe('0.0.0.0');
    expect([c.livenessProbe?.httpGet?.path, c.livenessProbe?.httpGet?.port]).toEqual(['/healthz', 'http']);
    expect([c.readinessProbe?.httpGet?.path, c.readinessProbe?.httpGet?.port]).toEqual(['/readyz', 'http']);
    const podLabels = spec(one(objs, 'Deployment')).template?.metadata?.labels ?? {};
    const service = one(objs, 'Service');
    for (const [k, v] of Object.entries(spec(service).selector ?? {})) expect(podLabels[k]).toBe(v);
    const target = (spec(service).ports ?? []).find((p) => p.targetPort === 'http');
    const sm = spec(one(objs, 'ServiceMonitor'));
    for (const [k, v] of Object.entries(sm.selector?.matchLabels ?? {}))
      expect(service.metadata.labels?.[k]).toBe(v);
    expect(sm.endpoints?.map((e) => [e.port, e.path])).toEqual([[target?.name, '/metrics']]);
  });

  it('selects the bridge pods, admits only Prometheus on the metrics port, and lets them reach Alertmanager', () => {
    const policy = spec(one(objs, 'NetworkPolicy'));
    const podLabels = spec(one(objs, 'Deployment')).template?.metadata?.labels ?? {};
    for (const [k, v] of Object.entries(policy.podSelector?.matchLabels ?? {})) expect(podLabels[k]).toBe(v);
    const port = (container(one(objs, 'Deployment')).ports ?? []).find(
      (p) => p.name === 'http',
    )?.containerPort;
    expect(policy.ingress).toEqual([
      {
        from: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
            podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
          },
        ],
        ports: [{ port, protocol: 'TCP' }],
      },
    ]);
    const egress = (policy.egress ?? []) as {
      to?: { podSelector?: { matchLabels?: Record<string, string> } }[];
      ports?: { port?: number }[];
    }[];
    expect(
      egress.some(
        (r) =>
          (r.to ?? []).some(
            (t) => t.podSelector?.matchLabels?.['app.kubernetes.io/name'] === 'alertmanager',
          ) && (r.ports ?? []).some((p) => p.port === 9093),
      ),
    ).toBe(true);
  });
});
