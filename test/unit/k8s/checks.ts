/**
 * Offline checks of the Kubernetes manifests in k8s/: rendering with the real kustomize
 * (k8s/bin/kustomize.sh, pinned, installed into .cache/bin by `go install` on first use), strict
 * schema validation (built-in kinds: the Kubernetes OpenAPI schemas of kubernetes-validate,
 * pruned into schemas/kubernetes-strict.json; CRDs: schemas/crds-strict.json, plus the upstream-
 * generated validators of @kubernetes-models/keda and @kubernetes-models/prometheus-operator), and
 * cross-checks against the service's own code (config variables, topics, ACLs, metric names).
 *
 * Every check returns a list of problems (empty = fine), so the tests can show each one both
 * passing on the real manifests and failing on a deliberately broken copy.
 */
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import {
  PrometheusRule,
  ServiceMonitor,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { parser as promqlParser } from '@prometheus-io/lezer-promql';
import Ajv2020 from 'ajv/dist/2020';
import type { ValidateFunction } from 'ajv/dist/2020';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { parseAllDocuments } from 'yaml';
import { VARIABLES } from '../../../src/shared/config';
import type { Config, Env } from '../../../src/shared/config';
import { createAlertBridgeMetrics, createMetrics } from '../../../src/shared/metrics';
import type { KafkaAccessPlan } from '../../../src/kafka/access-check';
import { kafkaAccessPlan } from '../../../src/kafka/access-check';
import { topicConfigs } from '../../../src/kafka/topics';
import crdSchemas from './schemas/crds-strict.json';
import k8sSchemas from './schemas/kubernetes-strict.json';

export const ROOT = join(__dirname, '..', '..', '..');

type Labels = Record<string, string>;

export interface Container {
  name: string;
  image?: string;
  ports?: { name: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string } }[];
  volumeMounts?: { name: string; mountPath: string }[];
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  resources?: { limits?: Record<string, string | number>; requests?: Record<string, string | number> };
  [field: string]: unknown;
}

export interface PodSpec {
  containers: Container[];
  volumes?: { name: string; secret?: { secretName: string; items?: { key: string; path: string }[] } }[];
  nodeSelector?: Labels;
  tolerations?: unknown[];
  terminationGracePeriodSeconds?: number;
  [field: string]: unknown;
}

export interface Acl {
  resource: { type: string; name?: string; patternType?: string };
  operations?: string[];
  host?: string;
}

/**
 * The fields of the kinds in k8s/ that the checks read (one loose bag for all kinds; the strict
 * schemas, not this type, decide what is valid).
 */
export interface Spec {
  replicas?: unknown;
  template?: { metadata?: { labels?: Labels }; spec: PodSpec };
  selector?: { matchLabels?: Labels; [label: string]: unknown };
  podSelector?: { matchLabels?: Labels };
  ports?: { name: string; port?: number; targetPort?: number | string }[];
  endpoints?: { port: string; path: string; [field: string]: unknown }[];
  groups?: { name: string; rules: { alert?: string; expr: string }[] }[];
  topicName?: string;
  partitions?: number;
  config?: Record<string, string | number | boolean>;
  authentication?: { type: string };
  authorization?: { type: string; acls: Acl[] };
  maxReplicaCount?: number;
  scaleTargetRef?: { name: string };
  triggers?: { type: string; metadata: Record<string, unknown>; authenticationRef?: { name: string } }[];
  [field: string]: unknown;
}

/** A rendered Kubernetes object. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Labels };
  spec?: Spec;
  data?: Record<string, string>;
  [field: string]: unknown;
}

function need<T>(x: T | undefined | null, what: string): T {
  if (x === undefined || x === null) throw new Error(`missing ${what}`);
  return x;
}

export function spec(o: K8sObject): Spec {
  return need(o.spec, `${o.kind} ${o.metadata.name} spec`);
}

export function podSpec(deployment: K8sObject): PodSpec {
  return need(spec(deployment).template, 'pod template').spec;
}

export function container(deployment: K8sObject): Container {
  return need(podSpec(deployment).containers[0], 'container');
}

/** `kustomize build k8s/<dir>` with the pinned kustomize. */
export function render(dir: string): K8sObject[] {
  const out = execFileSync(join(ROOT, 'k8s', 'bin', 'kustomize.sh'), ['build', join(ROOT, 'k8s', dir)], {
    encoding: 'utf8',
    timeout: 600_000,
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return parseAllDocuments(out).map((d) => {
    if (d.errors.length > 0) throw new Error(`kustomize output is not YAML: ${d.errors[0]?.message}`);
    return d.toJSON() as K8sObject;
  });
}

const gvk = (o: { apiVersion: string; kind: string }): string => `${o.apiVersion}/${o.kind}`;

// ------------------------------------------------------------------------------------------
// Schemas

const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema(k8sSchemas);
ajv.addSchema(crdSchemas);
const validators = new Map<string, ValidateFunction>();
for (const [kind, def] of Object.entries(k8sSchemas['x-kinds'])) {
  validators.set(kind, ajv.getSchema(`kubernetes-strict#/$defs/${def}`) as ValidateFunction);
}
for (const [kind, def] of Object.entries(crdSchemas['x-kinds'])) {
  validators.set(kind, ajv.getSchema(`crds-strict#/$defs/${def}`) as ValidateFunction);
}

/** Upstream-generated (non-strict) validators: types and enums straight from the real CRDs. */
const upstream: Record<string, (o: K8sObject) => void> = {
  'keda.sh/v1alpha1/ScaledObject': (o) => new ScaledObject(o as never).validate(),
  'keda.sh/v1alpha1/TriggerAuthentication': (o) => new TriggerAuthentication(o as never).validate(),
  'monitoring.coreos.com/v1/ServiceMonitor': (o) => new ServiceMonitor(o as never).validate(),
  'monitoring.coreos.com/v1/PrometheusRule': (o) => new PrometheusRule(o as never).validate(),
};

/** Schema problems of one object: unknown kind, unknown field, wrong type, missing field. */
export function schemaProblems(o: K8sObject): string[] {
  const id = `${gvk(o)} ${o.metadata?.name ?? '?'}`;
  const validate = validators.get(gvk(o));
  if (!validate) return [`${id}: no schema for this kind (add it to test/unit/k8s/schemas)`];
  const problems: string[] = [];
  if (!validate(o)) {
    for (const e of validate.errors ?? []) {
      const extra = (e.params as { additionalProperty?: string }).additionalProperty;
      problems.push(`${id}: ${e.instancePath || '/'} ${e.message ?? ''}${extra ? ` "${extra}"` : ''}`);
    }
  }
  try {
    upstream[gvk(o)]?.(o);
  } catch (e) {
    problems.push(`${id}: ${(e as Error).message}`);
  }
  return problems;
}

// ------------------------------------------------------------------------------------------
// Helpers over a rendered overlay

export function find(objects: K8sObject[], kind: string, namePrefix = ''): K8sObject[] {
  return objects.filter((o) => o.kind === kind && o.metadata.name.startsWith(namePrefix));
}

export function one(objects: K8sObject[], kind: string, namePrefix = ''): K8sObject {
  const found = find(objects, kind, namePrefix);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${namePrefix}*, found ${found.length}`);
  return found[0] as K8sObject;
}

/** The service's ConfigMap (the one the Deployment's envFrom names). */
export function configMap(objects: K8sObject[]): K8sObject {
  return one(objects, 'ConfigMap', 'interest-drift-config');
}

const SPECS = VARIABLES as Record<string, { secret?: boolean }>;

/** ConfigMap keys that are not configuration variables, or that hold secrets. */
export function configMapProblems(cm: K8sObject): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(cm.data ?? {})) {
    const spec = SPECS[key];
    if (!spec) problems.push(`ConfigMap key ${key} is not a variable of src/shared/config.ts`);
    else if (spec.secret) problems.push(`ConfigMap key ${key} is a secret: reference a Secret instead`);
  }
  return problems;
}

/** Env entries of the container that are not config variables, or secrets not from a Secret. */
export function containerEnvProblems(deployment: K8sObject): string[] {
  const problems: string[] = [];
  for (const c of podSpec(deployment).containers) {
    for (const e of c.env ?? []) {
      const v = SPECS[e.name];
      if (e.name.startsWith('IDRIFT_') && !v) problems.push(`env ${e.name} is not a variable`);
      if (v?.secret && !e.valueFrom?.secretKeyRef)
        problems.push(`env ${e.name} is a secret but not from a Secret`);
    }
  }
  return problems;
}

/**
 * The Strimzi KafkaTopics against topicConfigs(): same names, partitions, replication factor, and
 * every config entry of the code; the only extra entry allowed is min.insync.replicas.
 */
export function topicProblems(objects: K8sObject[], config: Config): string[] {
  const problems: string[] = [];
  const expected = topicConfigs(config, {
    inputPartitions: config.kafka.inputPartitions,
    replicationFactor: config.kafka.replicationFactor,
  });
  const topics = new Map(
    find(objects, 'KafkaTopic').map((t) => [spec(t).topicName ?? t.metadata.name, spec(t)]),
  );
  for (const e of expected) {
    const t = topics.get(e.topic);
    if (!t) {
      problems.push(`no KafkaTopic for ${e.topic}`);
      continue;
    }
    topics.delete(e.topic);
    if (t.partitions !== e.numPartitions)
      problems.push(`${e.topic}: ${String(t.partitions)} partitions, the code expects ${e.numPartitions}`);
    if (t.replicas !== e.replicationFactor)
      problems.push(
        `${e.topic}: replicas ${String(t.replicas)}, IDRIFT_TOPIC_REPLICATION_FACTOR is ${e.replicationFactor}`,
      );
    const cfg = Object.fromEntries(Object.entries(t.config ?? {}).map(([k, v]) => [k, String(v)]));
    for (const { name, value } of e.configEntries ?? []) {
      if (cfg[name] !== value)
        problems.push(`${e.topic}: ${name}=${String(cfg[name])}, the code sets ${value}`);
      delete cfg[name];
    }
    delete cfg['min.insync.replicas'];
    for (const k of Object.keys(cfg)) problems.push(`${e.topic}: config ${k} is not in src/kafka/topics.ts`);
  }
  for (const name of topics.keys()) problems.push(`KafkaTopic ${name} is not a topic of the service`);
  return problems;
}

/**
 * The environment the pod would see (`scratch`: a folder for the placeholder files): the ConfigMap, the Secret-backed variables (placeholders),
 * and every *_FILE path replaced by a scratch file, after checking it lies in a Secret volume
 * mounted into the container (so the file exists in the pod).
 */
export function podEnv(
  objs: K8sObject[],
  scratch: string,
  configMapName = 'interest-drift-config',
): { env: Env; problems: string[] } {
  const deployment = one(objs, 'Deployment');
  const c = container(deployment);
  const env: Record<string, string> = { ...one(objs, 'ConfigMap', configMapName).data };
  const problems: string[] = [];
  for (const e of c.env ?? [])
    env[e.name] = e.valueFrom ? `secret-placeholder-${e.name}-0123456789` : (e.value ?? '');
  const volumes = new Map((podSpec(deployment).volumes ?? []).map((v) => [v.name, v]));
  for (const [k, v] of Object.entries(env)) {
    if (!k.endsWith('_FILE')) continue;
    const mount = (c.volumeMounts ?? []).find((m) => v.startsWith(`${m.mountPath}/`));
    const file = mount ? v.slice(mount.mountPath.length + 1) : '';
    const secret = mount ? volumes.get(mount.name)?.secret : undefined;
    const items = secret?.items ?? [];
    if (!mount || !secret || (items.length > 0 && !items.some((i) => i.path === file))) {
      problems.push(`${k}=${v} is not a file of a Secret volume mounted into the container`);
    }
    const local = join(scratch, k);
    writeFileSync(local, 'placeholder\n');
    env[k] = local;
  }
  return { env, problems };
}

export interface AclEntry {
  readonly type: 'topic' | 'group' | 'transactionalId' | 'cluster';
  readonly name: string;
  readonly patternType: 'literal' | 'prefix';
  readonly operation: string;
}

/** The KafkaUser's ACL entries, one per operation. */
export function kafkaUserAcls(user: K8sObject): AclEntry[] {
  const out: AclEntry[] = [];
  for (const a of spec(user).authorization?.acls ?? []) {
    for (const op of a.operations ?? []) {
      out.push({
        type: a.resource.type as AclEntry['type'],
        name: a.resource.name ?? '',
        patternType: (a.resource.patternType ?? 'literal') as AclEntry['patternType'],
        operation: op,
      });
    }
  }
  return out;
}

const aclKey = (a: AclEntry): string => `${a.type}:${a.patternType}:${a.name}:${a.operation}`;

/** The KafkaUser's ACLs must be exactly `plan` (kafkaAccessPlan(config) by default): nothing missing, nothing more. */
export function aclProblems(
  user: K8sObject,
  config: Config,
  plan: KafkaAccessPlan = kafkaAccessPlan(config),
): string[] {
  const want = new Set<string>();
  for (const t of plan.topics) {
    for (const op of t.operations)
      want.add(aclKey({ type: 'topic', name: t.name, patternType: 'literal', operation: op }));
  }
  for (const g of plan.groups) {
    want.add(
      aclKey({
        type: 'group',
        name: g.grant,
        patternType: g.prefixed ? 'prefix' : 'literal',
        operation: 'Read',
      }),
    );
  }
  for (const op of plan.transactionalIdPrefix === null ? [] : ['Write', 'Describe']) {
    want.add(
      aclKey({
        type: 'transactionalId',
        name: plan.transactionalIdPrefix ?? '',
        patternType: 'prefix',
        operation: op,
      }),
    );
  }
  const have = new Set(kafkaUserAcls(user).map(aclKey));
  const problems: string[] = [];
  for (const k of want) if (!have.has(k)) problems.push(`KafkaUser lacks ${k}`);
  for (const k of have)
    if (!want.has(k)) problems.push(`KafkaUser grants ${k}, which ${plan.component} does not need`);
  if (spec(user).authentication?.type !== 'scram-sha-512')
    problems.push('KafkaUser should authenticate with scram-sha-512');
  return problems;
}

/** KEDA: target the Deployment, scale on the service's group and input, never past the partitions. */
export function scaledObjectProblems(objects: K8sObject[], config: Config): string[] {
  const so = spec(one(objects, 'ScaledObject'));
  const deployment = one(objects, 'Deployment');
  const input = find(objects, 'KafkaTopic').find(
    (t) => (spec(t).topicName ?? t.metadata.name) === config.topics.input,
  );
  const problems: string[] = [];
  const partitions = Math.min((input && spec(input).partitions) ?? Infinity, config.kafka.inputPartitions);
  const max = so.maxReplicaCount ?? Infinity;
  if (!(max <= partitions))
    problems.push(`maxReplicaCount ${max} exceeds the ${partitions} input partitions`);
  if (so.scaleTargetRef?.name !== deployment.metadata.name)
    problems.push('scaleTargetRef is not the Deployment');
  const kafka = (so.triggers ?? []).filter((t) => t.type === 'kafka');
  if (kafka.length !== 1) problems.push('expected one kafka trigger');
  for (const t of kafka) {
    if (t.metadata.topic !== config.topics.input)
      problems.push(`trigger topic ${String(t.metadata.topic)} is not the input`);
    if (t.metadata.consumerGroup !== config.appId)
      problems.push(`trigger group ${String(t.metadata.consumerGroup)} is not IDRIFT_APP_ID`);
    const auth = t.authenticationRef?.name;
    if (!auth || find(objects, 'TriggerAuthentication', auth).length !== 1)
      problems.push(`trigger authentication ${String(auth)} is not rendered`);
  }
  return problems;
}

/** The metric names a PromQL expression uses that the service does not export. */
export function unknownMetrics(expr: string, known: ReadonlySet<string>): string[] {
  const names = expr.match(/\bidrift_[a-z0-9_]+/g) ?? [];
  return [...new Set(names)].filter((n) => !known.has(n));
}

/** Every series name the service exports (histograms as _bucket/_sum/_count). */
export function exportedSeries(): Set<string> {
  return new Set(exportedLabels().keys());
}

/**
 * Labels Prometheus adds to every scraped series (the ServiceMonitor's target labels), which
 * expressions may match and group by besides the metric's own.
 */
const TARGET_LABELS = ['namespace', 'pod', 'service', 'instance', 'job', 'container', 'endpoint'];

/** Every series the service and its alert bridge export with the label names it may carry (histograms as _bucket/_sum/_count). */
export function exportedLabels(): Map<string, ReadonlySet<string>> {
  const series = new Map<string, ReadonlySet<string>>();
  const registries = [createMetrics(new Registry(), true), createAlertBridgeMetrics(new Registry(), false)];
  for (const m of registries.flatMap((x) => x.registry.getMetricsAsArray())) {
    const type = (m as unknown as { type: string }).type;
    const own = [...((m as unknown as { labelNames?: string[] }).labelNames ?? []), ...TARGET_LABELS];
    if (type === 'histogram') {
      series.set(`${m.name}_bucket`, new Set([...own, 'le']));
      for (const s of ['_sum', '_count']) series.set(m.name + s, new Set(own));
    } else series.set(m.name, new Set(own));
  }
  return series;
}

/** A node of a parsed PromQL expression (the parser's own type, without importing @lezer/common). */
type SyntaxNode = ReturnType<typeof promqlParser.parse>['topNode'];

/**
 * What is wrong with a PromQL expression, by Prometheus' own grammar (@prometheus-io/lezer-promql,
 * the parser of Prometheus' web UI): syntax errors; label names matched on one of the service's
 * series that the series does not carry (a misspelt label matches nothing and the alert never
 * fires); and `by (…)` labels of an aggregation over the service's series that none of them
 * carries (the aggregate would have one group, with the label empty). Aggregations that also read
 * a series from elsewhere (kube-state-metrics) are not checked. Grafana's variables are replaced first.
 */
export function promqlProblems(expr: string, labels: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const text = expr.replaceAll('$__rate_interval', '5m').replaceAll('$namespace', 'ns');
  const problems: string[] = [];
  const slice = (n: { from: number; to: number }): string => text.slice(n.from, n.to);
  /** The label names under `node` (a LabelMatchers or GroupingLabels node). */
  const labelNames = (node: SyntaxNode | null): string[] => {
    const names: string[] = [];
    const c = node?.cursor();
    if (!c || !node) return names;
    while (c.next() && c.from < node.to) if (c.name === 'LabelName') names.push(slice(c));
    return names;
  };
  /** The series a VectorSelector node reads ('' when it has no metric name). */
  const selectorName = (selector: SyntaxNode): string => {
    const id = selector.getChild('Identifier');
    return id ? slice(id) : '';
  };
  /** The series an expression reads: the names of its vector selectors. */
  const seriesUnder = (node: SyntaxNode): string[] => {
    const names: string[] = [];
    const c = node.cursor();
    while (c.next() && c.from < node.to) if (c.name === 'VectorSelector') names.push(selectorName(c.node));
    return names;
  };
  const cursor = promqlParser.parse(text).cursor();
  do {
    if (cursor.type.isError) problems.push(`syntax error at ${cursor.from} in: ${text}`);
    if (cursor.name === 'VectorSelector') {
      const name = selectorName(cursor.node);
      const allowed = labels.get(name);
      if (!allowed) continue;
      for (const label of labelNames(cursor.node.getChild('LabelMatchers')))
        if (!allowed.has(label)) problems.push(`${name} has no label ${label}`);
    } else if (cursor.name === 'AggregateExpr') {
      const grouping = cursor.node.getChild('AggregateModifier')?.getChild('GroupingLabels') ?? null;
      const series = seriesUnder(cursor.node);
      if (series.length === 0 || series.some((n) => !labels.has(n))) continue;
      const carried = new Set(series.flatMap((n) => [...(labels.get(n) ?? [])]));
      for (const label of labelNames(grouping))
        if (!carried.has(label)) problems.push(`${series.join(', ')} carry no label ${label} to group by`);
    }
  } while (cursor.next());
  return problems;
}
