/**
 * The alert bridge's manifests (k8s/alert-bridge), rendered by the real kustomize: strict schemas,
 * a pod environment the `alert-bridge` command accepts, exactly the ACLs it needs, and a network
 * policy with no way in and a way out to Alertmanager.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alertBridgeGroup } from '../../../src/kafka/alert-bridge';
import { loadConfig } from '../../../src/shared/config';
import type { K8sObject } from './checks';
import {
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
  it('renders valid objects: a Deployment running alert-bridge, its ConfigMap, KafkaUser and NetworkPolicy', () => {
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
    expect(config.alerts.alertmanagerUrl).toMatch(/^https?:\/\//);
    expect(config.logPseudonymKey).toBeTruthy();
    expect(config.kafka.sasl?.username).toBe(one(objs, 'KafkaUser').metadata.name);
  });

  it("grants the KafkaUser exactly: read churn.risk in the bridge's group", () => {
    const { env } = podEnv(objs, scratch, 'interest-drift-alert-bridge-config');
    const config = loadConfig(env);
    const acls = kafkaUserAcls(one(objs, 'KafkaUser')).map(
      (a) => `${a.type}:${a.patternType}:${a.name}:${a.operation}`,
    );
    expect(acls.sort()).toEqual(
      [
        `topic:literal:${config.topics.churn}:Read`,
        `topic:literal:${config.topics.churn}:Describe`,
        `group:literal:${alertBridgeGroup(config)}:Read`,
      ].sort(),
    );
  });

  it('selects the bridge pods, admits nothing in, and lets them reach Alertmanager', () => {
    const policy = spec(one(objs, 'NetworkPolicy'));
    const podLabels = spec(one(objs, 'Deployment')).template?.metadata?.labels ?? {};
    for (const [k, v] of Object.entries(policy.podSelector?.matchLabels ?? {})) expect(podLabels[k]).toBe(v);
    expect(policy.ingress ?? []).toEqual([]);
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
