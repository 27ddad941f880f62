/**
 * The service against a broker with security ON, as deployed: SASL/SCRAM-SHA-512 over mutual
 * TLS, the StandardAuthorizer (nothing allowed without an ACL), and exactly the ACLs of the
 * KafkaUser manifest (k8s/base/kafka-user.yaml) granted to the service's user; the schema
 * registry behind HTTPS (mutual TLS) with basic auth. Topic names and settings come from the
 * manifests too (k8s/base/config.env).
 *
 * The broker is a second, separate one (test/harness/sasl-broker.sh, ports 19192/19193), started
 * and stopped here; the registry is the normal stack's (test/harness/with-stack.sh), fronted by
 * an HTTPS proxy in this test that insists on a client certificate and the password.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } from 'kafkajs';
import { parse } from 'yaml';
import type { Config } from '../../../src/shared/config';
import { loadConfig } from '../../../src/shared/config';
import type { App } from '../../../src/app/create-app';
import { createApp } from '../../../src/app/create-app';
import { isProcessorError } from '../../../src/shared/errors';
import { createLogger } from '../../../src/shared/logger';
import { waitCaughtUp } from '../../../src/kafka/caught-up';
import { readCommitted } from '../../../src/kafka/output-reader';
import { replayRows } from '../../../src/kafka/replay-producer';
import {
  createKafka,
  createRegistry,
  kafkaClientOptions,
  registryClientOptions,
} from '../../../src/kafka/clients';
import { alertBridgeAccessPlan, verifyKafkaAccess } from '../../../src/kafka/access-check';
import { alertBridgeGroup, startAlertBridge } from '../../../src/kafka/alert-bridge';
import type { ChurnRisk } from '../../../src/kafka/avro-types.gen';
import { ChurnRiskSchema, ClickstreamEventSchema } from '../../../src/kafka/avro-types.gen';
import { decodeState } from '../../../src/state/state-codec';
import { entryState } from '../../../src/state/changelog-entry';
import { CHECKPOINT_KEY } from '../../../src/state/checkpoint';
import { AvroSerde, valueSubject } from '../../../src/kafka/serde';
import { topicConfigs } from '../../../src/kafka/topics';
import { simulate } from '../../../src/sim/simulator';
import { TINY_META, TINY_MODEL } from '../../support/processor-harness';
import type { StackEnv } from '../../support/stack';
import { describeWithStack, sleep } from '../../support/stack';

jest.setTimeout(300_000);

const ROOT = join(__dirname, '..', '..', '..');
const BROKER_SCRIPT = join(ROOT, 'test', 'harness', 'sasl-broker.sh');
const ADMIN_PASSWORD = randomBytes(12).toString('hex');
const SERVICE_PASSWORD = randomBytes(12).toString('hex');
const REGISTRY_USER = 'idrift-registry-client';
const REGISTRY_PASSWORD = randomBytes(12).toString('hex');

// ---- the manifests -------------------------------------------------------------------------

interface ManifestAcl {
  resource: { type: 'topic' | 'group' | 'transactionalId' | 'cluster'; name?: string; patternType?: string };
  operations: string[];
}

const kafkaUser = parse(readFileSync(join(ROOT, 'k8s', 'base', 'kafka-user.yaml'), 'utf8')) as {
  metadata: { name: string };
  spec: { authorization: { acls: ManifestAcl[] } };
};
const SERVICE_USER = kafkaUser.metadata.name;
const MANIFEST_ACLS = kafkaUser.spec.authorization.acls;
/** alert-bridge's own KafkaUser (k8s/alert-bridge) and ConfigMap. */
const bridgeUser = parse(
  readFileSync(join(ROOT, 'k8s', 'alert-bridge', 'kafka-user.yaml'), 'utf8'),
) as typeof kafkaUser;
const BRIDGE_USER = bridgeUser.metadata.name;
const BRIDGE_PASSWORD = randomBytes(12).toString('hex');

/** A config.env of the manifests: what the ConfigMap holds. */
const envFile = (path: string): Record<string, string> =>
  Object.fromEntries(
    readFileSync(join(ROOT, path), 'utf8')
      .split('\n')
      .filter((l) => /^IDRIFT_[A-Z0-9_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
const manifestEnv = envFile('k8s/base/config.env');
const bridgeManifestEnv = envFile('k8s/alert-bridge/config.env');

const RESOURCE = {
  topic: AclResourceTypes.TOPIC,
  group: AclResourceTypes.GROUP,
  transactionalId: AclResourceTypes.TRANSACTIONAL_ID,
  cluster: AclResourceTypes.CLUSTER,
} as const;
const OPERATION: Record<string, AclOperationTypes> = {
  Read: AclOperationTypes.READ,
  Write: AclOperationTypes.WRITE,
  Describe: AclOperationTypes.DESCRIBE,
  IdempotentWrite: AclOperationTypes.IDEMPOTENT_WRITE,
};

/** One kafkajs ACL binding per (entry, operation), for the service's principal. */
function bindings(entry: ManifestAcl) {
  return userBindings(entry, SERVICE_USER);
}

/** One kafkajs ACL binding per (entry, operation), for `user`. */
function userBindings(entry: ManifestAcl, user: string) {
  return entry.operations.map((op) => {
    const operation = OPERATION[op];
    if (operation === undefined) throw new Error(`operation ${op} not mapped in this test`);
    return {
      resourceType: RESOURCE[entry.resource.type],
      resourceName: entry.resource.type === 'cluster' ? 'kafka-cluster' : (entry.resource.name ?? ''),
      resourcePatternType:
        entry.resource.patternType === 'prefix'
          ? ResourcePatternTypes.PREFIXED
          : ResourcePatternTypes.LITERAL,
      principal: `User:${user}`,
      host: '*',
      operation,
      permissionType: AclPermissionTypes.ALLOW,
    };
  });
}

// ---- helpers -------------------------------------------------------------------------------

function javaAvailable(): boolean {
  return spawnSync('java', ['-version'], { stdio: 'ignore' }).status === 0;
}

function brokerEnv(): Record<string, string> {
  const out = execFileSync(BROKER_SCRIPT, ['env'], { encoding: 'utf8' });
  const env: Record<string, string> = {};
  for (const m of out.matchAll(/([A-Z_]+)=(\S+)/g)) env[m[1] as string] = m[2] as string;
  return env;
}

/** An HTTPS reverse proxy to the registry that wants a client certificate and basic auth. */
async function startRegistryProxy(
  upstream: URL,
  tls: { key: Buffer; cert: Buffer; ca: Buffer },
): Promise<{
  url: string;
  served: () => number;
  refused: () => number;
  /** Refuse every request from now on (credentials revoked at the registry), or stop refusing. */
  refuseAll: (on: boolean) => void;
  close: () => Promise<void>;
}> {
  const expected = `Basic ${Buffer.from(`${REGISTRY_USER}:${REGISTRY_PASSWORD}`).toString('base64')}`;
  let served = 0;
  let refused = 0;
  let refusing = false;
  const server = https.createServer({ ...tls, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    if (refusing || req.headers.authorization !== expected) {
      refused++;
      res.writeHead(401, { 'www-authenticate': 'Basic realm="registry"' }).end();
      return;
    }
    served++;
    const headers = { ...req.headers, host: upstream.host };
    delete headers.authorization;
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on('error', () => res.writeHead(502).end());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}${upstream.pathname}`,
    served: () => served,
    refused: () => refused,
    refuseAll: (on) => void (refusing = on),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function waitForAcls(admin: Admin, expectedCount: number, user = SERVICE_USER): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const res = await admin.describeAcls({
      resourceType: AclResourceTypes.ANY,
      resourcePatternType: ResourcePatternTypes.ANY,
      principal: `User:${user}`,
      operation: AclOperationTypes.ANY,
      permissionType: AclPermissionTypes.ANY,
    });
    const n = res.resources.reduce((k, r) => k + r.acls.length, 0);
    if (n === expectedCount) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`ACLs of User:${user} did not reach ${expectedCount}`);
}

// ---- the test ------------------------------------------------------------------------------

function securityTests(env: StackEnv): void {
  let admin: Admin;
  let adminKafka: Kafka;
  let proxy: Awaited<ReturnType<typeof startRegistryProxy>>;
  let broker: Record<string, string>;
  const logs: string[] = [];
  const logger = createLogger('info', { write: (line) => void logs.push(line) });
  const allBindings = MANIFEST_ACLS.flatMap(bindings);

  /** The pod's configuration: the ConfigMap, with local addresses, files and a small model. */
  function serviceConfig(overrides: Record<string, string> = {}): Config {
    return loadConfig({
      ...manifestEnv,
      IDRIFT_KAFKA_BROKERS: broker.SASL_KAFKA_BROKERS,
      IDRIFT_KAFKA_SASL_PASSWORD: SERVICE_PASSWORD,
      IDRIFT_KAFKA_TLS_CA_FILE: broker.SASL_CA_FILE,
      IDRIFT_KAFKA_TLS_CERT_FILE: broker.SASL_CLIENT_CERT_FILE,
      IDRIFT_KAFKA_TLS_KEY_FILE: broker.SASL_CLIENT_KEY_FILE,
      IDRIFT_SCHEMA_REGISTRY_URL: proxy.url,
      IDRIFT_SCHEMA_REGISTRY_USERNAME: REGISTRY_USER,
      IDRIFT_SCHEMA_REGISTRY_PASSWORD: REGISTRY_PASSWORD,
      IDRIFT_SCHEMA_REGISTRY_TLS_CA_FILE: broker.SASL_CA_FILE,
      IDRIFT_SCHEMA_REGISTRY_TLS_CERT_FILE: broker.SASL_CLIENT_CERT_FILE,
      IDRIFT_SCHEMA_REGISTRY_TLS_KEY_FILE: broker.SASL_CLIENT_KEY_FILE,
      IDRIFT_INPUT_PARTITIONS: '3',
      IDRIFT_TOPIC_REPLICATION_FACTOR: '1',
      IDRIFT_HTTP_HOST: '127.0.0.1',
      IDRIFT_HTTP_PORT: '0',
      IDRIFT_MODEL_PATH: TINY_MODEL,
      IDRIFT_MODEL_META_PATH: TINY_META,
      // The ConfigMap points at the image's /app; the repository's file here.
      IDRIFT_CHURN_MODEL_PATH: 'onnx/artifacts/churn-hazard.json',
      IDRIFT_EXECUTION_PROVIDER: 'cpu',
      IDRIFT_SESSION_TIMEOUT_MS: '10000',
      IDRIFT_HEARTBEAT_INTERVAL_MS: '1000',
      IDRIFT_TRANSACTION_TIMEOUT_MS: '10000',
      IDRIFT_SHUTDOWN_GRACE_MS: '5000',
      IDRIFT_SHUTDOWN_FORCE_MS: '2000',
      ...overrides,
    });
  }

  /** A fresh service instance that runs until the group has committed the whole input. */
  /**
   * Restarts the service until it has restored every partition (changelog and input replay since
   * the checkpoint) and caught up; its stop then flushes every state to the changelog.
   */
  async function restartUntilCaughtUp(config: Config): Promise<void> {
    const again: App = createApp(config, logger);
    try {
      await again.start();
      await waitCaughtUp(adminKafka, config.appId, config.topics.input, 120_000);
      const readyz = `http://127.0.0.1:${String(again.httpPort())}/readyz`;
      for (let i = 0; (await fetch(readyz)).status !== 200; i++) {
        if (i > 600) throw new Error('restarted service not ready');
        await sleep(100);
      }
    } finally {
      await again.stop('test done');
    }
  }

  beforeAll(async () => {
    execFileSync(BROKER_SCRIPT, ['up'], {
      env: {
        ...process.env,
        IDRIFT_SASL_ADMIN_PASSWORD: ADMIN_PASSWORD,
        IDRIFT_SASL_USERS: `${SERVICE_USER}:${SERVICE_PASSWORD},${BRIDGE_USER}:${BRIDGE_PASSWORD}`,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
      timeout: 180_000,
    });
    broker = brokerEnv();
    const read = (k: string): Buffer => readFileSync(broker[k] as string);
    proxy = await startRegistryProxy(new URL(env.registryUrl), {
      key: read('SASL_SERVER_KEY_FILE'),
      cert: read('SASL_SERVER_CERT_FILE'),
      ca: read('SASL_CA_FILE'),
    });
    adminKafka = createKafka(
      {
        brokers: [broker.SASL_KAFKA_BROKERS as string],
        clientId: 'security-test-admin',
        sasl: {
          mechanism: 'scram-sha-512',
          username: broker.SASL_ADMIN_USER as string,
          password: ADMIN_PASSWORD,
        },
        tls: {
          caFile: broker.SASL_CA_FILE as string,
          certFile: broker.SASL_CLIENT_CERT_FILE as string,
          keyFile: broker.SASL_CLIENT_KEY_FILE as string,
        },
      },
      createLogger('warn'),
    );
    admin = adminKafka.admin();
    await admin.connect();
    // The topics of the manifests (names and compaction from src/kafka/topics.ts, which the unit
    // test ties to k8s/base/kafka-topics.yaml), sized for one broker.
    const config = serviceConfig();
    await admin.createTopics({
      topics: topicConfigs(config, { inputPartitions: 3, replicationFactor: 1 }),
      waitForLeaders: true,
    });
    await admin.createAcls({ acl: allBindings });
    await waitForAcls(admin, allBindings.length);
    const bridgeBindings = bridgeUser.spec.authorization.acls.flatMap((a) => userBindings(a, BRIDGE_USER));
    await admin.createAcls({ acl: bridgeBindings });
    await waitForAcls(admin, bridgeBindings.length, BRIDGE_USER);
  });

  afterAll(async () => {
    await admin?.disconnect();
    await proxy?.close();
    execFileSync(BROKER_SCRIPT, ['down'], { stdio: ['ignore', 'inherit', 'inherit'] });
    // No secret ever reached a log line.
    const all = logs.join('');
    for (const secret of [ADMIN_PASSWORD, SERVICE_PASSWORD, BRIDGE_PASSWORD, REGISTRY_PASSWORD])
      expect(all).not.toContain(secret);
  });

  it('grants nothing to a principal without ACLs (the authorizer is on)', async () => {
    const stranger = createKafka(
      {
        brokers: [broker.SASL_KAFKA_BROKERS as string],
        clientId: 'stranger',
        sasl: { mechanism: 'scram-sha-512', username: SERVICE_USER, password: SERVICE_PASSWORD },
        tls: {
          caFile: broker.SASL_CA_FILE as string,
          certFile: broker.SASL_CLIENT_CERT_FILE as string,
          keyFile: broker.SASL_CLIENT_KEY_FILE as string,
        },
      },
      createLogger('error'),
    ).admin();
    await stranger.connect();
    try {
      // The service's user may describe its own topics but not create one.
      const err: unknown = await stranger
        .createTopics({ topics: [{ topic: 'not-granted', numPartitions: 1, replicationFactor: 1 }] })
        .then(
          () => null,
          (e: unknown) => e,
        );
      // kafkajs reports per-topic creation errors in an aggregate
      expect((err as { errors?: { type?: string }[] } | null)?.errors?.[0]?.type).toBe(
        'TOPIC_AUTHORIZATION_FAILED',
      );
    } finally {
      await stranger.disconnect();
    }
    // and the registry proxy refuses a request without the password
    const status = await new Promise<number>((resolve, reject) => {
      https
        .get(`${proxy.url}/subjects`, {
          ca: readFileSync(broker.SASL_CA_FILE as string),
          cert: readFileSync(broker.SASL_CLIENT_CERT_FILE as string),
          key: readFileSync(broker.SASL_CLIENT_KEY_FILE as string),
        })
        .on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject);
    });
    expect(status).toBe(401);
  });

  it('processes the clickstream end to end with exactly the KafkaUser ACLs, over SASL_SSL and an authenticated registry', async () => {
    const config = serviceConfig();
    const rows = simulate({ seed: 5, users: 60, days: 1, activityScale: 2 }).rows;
    const upstreamSerde = new AvroSerde(createRegistry({ url: env.registryUrl, retries: 0 }));
    const sent = await replayRows(adminKafka, upstreamSerde, rows, {
      topic: config.topics.input,
      idPrefix: 'sec',
    });
    expect(sent).toBeGreaterThan(100);

    const app: App = createApp(config, logger);
    const t0 = Date.now();
    try {
      await app.start();
      await Promise.race([
        waitCaughtUp(adminKafka, config.appId, config.topics.input, 180_000),
        app.done.then((code) => {
          throw new Error(`the processor stopped by itself (exit code ${code})`);
        }),
      ]);
    } finally {
      await app.stop('test done');
    }
    const elapsedMs = Date.now() - t0;
    const changelog = await readCommitted(adminKafka, config.topics.userStateChangelog, 'security-verify');
    const churn = await readCommitted(adminKafka, config.topics.churn, 'security-verify');
    const users = new Set(rows.map((r) => r.userId));
    expect(new Set(changelog.map((m) => m.key?.toString()).filter((k) => k !== CHECKPOINT_KEY)).size).toBe(
      users.size,
    );
    expect(churn.length).toBeGreaterThan(0);
    expect(proxy.served()).toBeGreaterThan(0);
    expect(logs.join('')).toContain('kafka permissions verified');
    console.log(
      `[security] ${sent} events, ${users.size} users → ${changelog.length} changelog records, ${churn.length} churn alerts in ${elapsedMs} ms; registry proxy served ${proxy.served()} authenticated requests`,
    );
  });

  // One manifest ACL entry removed at a time: the service must refuse to start, quickly, and
  // say which permission is missing (instead of retrying for ever).
  const removals: [string, (a: ManifestAcl) => boolean, RegExp][] = [
    [
      'Write on an output topic',
      (a) => a.resource.type === 'topic' && a.resource.name === 'interest.migrations',
      /topic "interest\.migrations": denied \(TOPIC_AUTHORIZATION_FAILED\); the service needs Write \+ Describe/,
    ],
    [
      'Read on the consumer group',
      (a) => a.resource.type === 'group' && a.resource.patternType !== 'prefix',
      /group "interest-drift": denied \(GROUP_AUTHORIZATION_FAILED\); the service needs Read/,
    ],
    [
      'Read on the restore groups',
      (a) => a.resource.type === 'group' && a.resource.patternType === 'prefix',
      /groups with prefix "interest-drift\.restore\.": denied \(GROUP_AUTHORIZATION_FAILED\)/,
    ],
    [
      'Read on the input topic',
      (a) => a.resource.type === 'topic' && a.resource.name === 'clickstream.events',
      /topic "clickstream\.events": denied \(TOPIC_AUTHORIZATION_FAILED\); the service needs Read \+ Describe/,
    ],
    [
      'Write on the transactional ids',
      (a) => a.resource.type === 'transactionalId',
      /transactional ids with prefix "interest-drift-clickstream\.events-": denied \(TRANSACTIONAL_ID_AUTHORIZATION_FAILED\); the service needs Write \+ Describe/,
    ],
  ];

  it.each(removals)('fails fast, naming the permission, without %s', async (_what, pick, message) => {
    const removed = MANIFEST_ACLS.filter(pick);
    expect(removed).toHaveLength(1);
    const gone = removed.flatMap(bindings);
    await admin.deleteAcls({ filters: gone });
    await waitForAcls(admin, allBindings.length - gone.length);
    const app = createApp(serviceConfig(), logger);
    const t0 = Date.now();
    try {
      const err: unknown = await app.start().then(
        () => new Error('started without the permission'),
        (e: unknown) => e,
      );
      expect(isProcessorError(err) && err.code).toBe('KAFKA_AUTHORIZATION_FAILED');
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).toContain(`Kafka user "${SERVICE_USER}"`);
      expect(Date.now() - t0).toBeLessThan(30_000);
      console.log(`[security] without ${_what}: refused in ${Date.now() - t0} ms: ${(err as Error).message}`);
    } finally {
      await app.stop('test done');
      await admin.createAcls({ acl: gone });
      await waitForAcls(admin, allBindings.length);
    }
  });

  // A permission taken away while the service runs: it must stop (exit code 1) with the
  // permission named, not restart for ever, and lose nothing: with the ACL back, a restart
  // finishes the input and every user's state counts each of its events exactly once.
  const revocations: [string, (a: ManifestAcl) => boolean, RegExp][] = [
    [
      'Read on the input topic',
      (a) => a.resource.type === 'topic' && a.resource.name === 'clickstream.events',
      /missing Kafka permission.*topic \\"clickstream\.events\\": denied \(TOPIC_AUTHORIZATION_FAILED\); the service needs Read \+ Describe/,
    ],
    [
      'Write on the state changelog',
      (a) => a.resource.type === 'topic' && a.resource.name === 'interest-drift.user-state',
      /missing Kafka permission.*topic \\"interest-drift\.user-state\\": denied \(TOPIC_AUTHORIZATION_FAILED\); the service needs Read \+ Write \+ Describe/,
    ],
  ];

  it.each(revocations.map((r, i) => [...r, i] as const))(
    'stops with the permission named when %s is revoked mid-run, and loses nothing',
    async (what, pick, message, i) => {
      const config = serviceConfig();
      const tag = what.replace(/\W+/g, '-').toLowerCase();
      const rows = simulate({
        // Event time after every earlier test's input: older events would be late (watermark).
        startTimeMs: Date.UTC(2018, 0, 1) + i * 30 * 86_400_000,
        seed: 17,
        users: 40,
        days: 2,
        activityScale: 2,
        userPrefix: `revoke-${tag}`,
      }).rows;
      const half = Math.floor(rows.length / 2);
      const upstreamSerde = new AvroSerde(createRegistry({ url: env.registryUrl, retries: 0 }));
      const gone = MANIFEST_ACLS.filter(pick).flatMap(bindings);
      expect(gone.length).toBeGreaterThan(0);
      const logStart = logs.length;
      const app: App = createApp(config, logger);
      let revokedAt = 0;
      try {
        await app.start();
        await replayRows(adminKafka, upstreamSerde, rows.slice(0, half), {
          topic: config.topics.input,
          idPrefix: tag,
        });
        await waitCaughtUp(adminKafka, config.appId, config.topics.input, 120_000);
        await admin.deleteAcls({ filters: gone });
        await waitForAcls(admin, allBindings.length - gone.length);
        revokedAt = Date.now();
        await replayRows(adminKafka, upstreamSerde, rows.slice(half), {
          topic: config.topics.input,
          idPrefix: tag,
        });
        const code = await Promise.race([
          app.done,
          new Promise<string>((r) => setTimeout(() => r('still running'), 90_000)),
        ]);
        const said = logs.slice(logStart).join('');
        if (code !== 1) console.log(`[security] ${what} revoked mid-run, the service said:\n${said}`);
        expect(code).toBe(1);
        expect(said).toMatch(message);
        expect(said).toContain('missing Kafka permission; stopping');
        console.log(
          `[security] ${what} revoked mid-run: stopped with exit code ${code} in ${Date.now() - revokedAt} ms`,
        );
      } finally {
        await admin.createAcls({ acl: gone });
        await waitForAcls(admin, allBindings.length);
        await app.stop('test done');
      }
      await restartUntilCaughtUp(config);
      const sent = new Map<string, number>();
      for (const r of rows) sent.set(r.userId, (sent.get(r.userId) ?? 0) + 1);
      const last = new Map<string, number>();
      for (const m of await readCommitted(
        adminKafka,
        config.topics.userStateChangelog,
        `revoke-verify-${tag}`,
      )) {
        const key = m.key?.toString() ?? '';
        if (!sent.has(key) || m.value === null) continue;
        last.set(key, decodeState(key, entryState(m.value)).eventCount);
      }
      expect(last.size).toBe(sent.size);
      for (const [user, n] of sent) expect([user, last.get(user)]).toEqual([user, n]);
    },
  );

  it('fails fast with REGISTRY_AUTH_FAILED on a wrong schema-registry password, not a wait', async () => {
    const app = createApp(
      serviceConfig({ IDRIFT_SCHEMA_REGISTRY_PASSWORD: 'not-the-registry-password' }),
      logger,
    );
    const t0 = Date.now();
    try {
      const err: unknown = await app.start().then(
        () => new Error('started with a wrong registry password'),
        (e: unknown) => e,
      );
      expect(isProcessorError(err) && err.code).toBe('REGISTRY_AUTH_FAILED');
      expect((err as Error).message).toMatch(/HTTP 401/);
      expect((err as Error).message).not.toContain('not-the-registry-password');
      expect(Date.now() - t0).toBeLessThan(30_000);
    } finally {
      await app.stop('test done');
    }
  });

  it('stops with REGISTRY_AUTH_FAILED when the registry starts refusing mid-run, and loses nothing', async () => {
    const config = serviceConfig();
    const upstream = createRegistry({ url: env.registryUrl, retries: 0 });
    const upstreamSerde = new AvroSerde(upstream);
    // A new writer version of the input schema: the running service has not fetched it yet.
    const fields = (ClickstreamEventSchema as unknown as { fields: object[] }).fields;
    const next = {
      ...ClickstreamEventSchema,
      fields: [...fields, { name: 'note', type: ['null', 'string'], default: null }],
    };
    const nextId = await upstreamSerde.register(valueSubject(config.topics.input), next);
    const event = {
      eventId: 'refused-1',
      userId: 'refused-user',
      itemId: 'i1',
      categoryId: 'c1',
      eventType: 'VIEW',
      eventTimeMs: Date.now(),
      sessionId: null,
      priceMinorUnits: null,
      currencyCode: null,
      note: null,
    };
    const app: App = createApp(config, logger);
    try {
      await app.start();
      await waitCaughtUp(adminKafka, config.appId, config.topics.input, 120_000);
      proxy.refuseAll(true);
      const producer = adminKafka.producer();
      await producer.connect();
      await producer.send({
        topic: config.topics.input,
        messages: [{ key: 'refused-user', value: upstreamSerde.encode(nextId, event) }],
      });
      await producer.disconnect();
      const t0 = Date.now();
      const code = await Promise.race([
        app.done,
        new Promise<string>((r) => setTimeout(() => r('still running'), 60_000)),
      ]);
      expect(code).toBe(1);
      expect(Date.now() - t0).toBeLessThan(60_000);
      expect(logs.join('')).toMatch(
        /REGISTRY_AUTH_FAILED: the schema registry refused to fetch schema id \d+ \(HTTP 401\)/,
      );
    } finally {
      proxy.refuseAll(false);
      await app.stop('test done');
    }
    // Credentials back: a restart processes the record, nothing lost.
    await restartUntilCaughtUp(config);
    const changelog = await readCommitted(
      adminKafka,
      config.topics.userStateChangelog,
      'security-verify-refused',
    );
    expect(changelog.some((m) => m.key?.toString() === 'refused-user' && m.value !== null)).toBe(true);
  });

  it("runs alert-bridge with exactly its KafkaUser's ACLs: start-up check, reading churn.risk in its group, dead letters", async () => {
    // The bridge pod's configuration (k8s/alert-bridge/config.env) with local addresses.
    const config = loadConfig(
      {
        ...bridgeManifestEnv,
        IDRIFT_KAFKA_BROKERS: broker.SASL_KAFKA_BROKERS as string,
        IDRIFT_KAFKA_SASL_PASSWORD: BRIDGE_PASSWORD,
        IDRIFT_KAFKA_TLS_CA_FILE: broker.SASL_CA_FILE as string,
        IDRIFT_KAFKA_TLS_CERT_FILE: broker.SASL_CLIENT_CERT_FILE as string,
        IDRIFT_KAFKA_TLS_KEY_FILE: broker.SASL_CLIENT_KEY_FILE as string,
        IDRIFT_SCHEMA_REGISTRY_URL: proxy.url,
        IDRIFT_SCHEMA_REGISTRY_USERNAME: REGISTRY_USER,
        IDRIFT_SCHEMA_REGISTRY_PASSWORD: REGISTRY_PASSWORD,
        IDRIFT_SCHEMA_REGISTRY_TLS_CA_FILE: broker.SASL_CA_FILE as string,
        IDRIFT_SCHEMA_REGISTRY_TLS_CERT_FILE: broker.SASL_CLIENT_CERT_FILE as string,
        IDRIFT_SCHEMA_REGISTRY_TLS_KEY_FILE: broker.SASL_CLIENT_KEY_FILE as string,
        IDRIFT_LOG_PSEUDONYM_KEY: 'a test key of 16+ characters',
      },
      { alerting: true },
      'alert-bridge',
    );
    expect(config.kafka.sasl?.username).toBe(BRIDGE_USER);
    await verifyKafkaAccess(
      kafkaClientOptions(config, '-alert-bridge'),
      alertBridgeAccessPlan(config),
      logger,
    );
    // A record it cannot decode, written by the admin: the bridge reads churn.risk under its ACLs and
    // writes it to churn.risk.dlq with its idempotent producer (Write grants IdempotentWrite).
    // Before it, on the same partition, a churn record that decodes.
    const serde = new AvroSerde(createRegistry(registryClientOptions(config)));
    const id = await serde.register(valueSubject(config.topics.churn), ChurnRiskSchema, 'FULL_TRANSITIVE');
    const good: ChurnRisk = {
      alertId: 'sec-1',
      userId: 'someone',
      level: 'HIGH',
      previousLevel: 'NONE',
      riskScore: 0.9,
      idleMs: 3_600_000,
      lastEventTimeMs: Date.UTC(2026, 9, 30),
      scoredAtEventTimeMs: Date.UTC(2026, 9, 31),
      reasons: [],
      trigger: 'EVENT_TIME_TIMER',
      modelVersion: 'm1',
      status: 'RAISED',
      resolution: null,
      replacesAlertId: null,
    };
    const producer = adminKafka.producer();
    await producer.connect();
    await producer.send({
      topic: config.topics.churn,
      messages: [
        { key: 'someone', value: serde.encode(id, good), partition: 1 },
        { key: 'somebody', value: Buffer.from('not avro'), partition: 1 },
      ],
    });
    await producer.disconnect();
    const applied: unknown[] = [];
    const bridge = await startAlertBridge(
      createKafka(kafkaClientOptions(config, '-alert-bridge'), logger),
      new AvroSerde(createRegistry(registryClientOptions(config))),
      config,
      (r) => {
        applied.push(r);
        return Promise.resolve();
      },
      logger,
    );
    try {
      await waitCaughtUp(adminKafka, alertBridgeGroup(config), config.topics.churn, 120_000);
    } finally {
      await bridge.stop();
    }
    await bridge.done;
    // Every other record of churn.risk (the earlier tests' churn alerts) decoded and was applied.
    const churn = await readCommitted(adminKafka, config.topics.churn, 'security-test-churn');
    expect(applied).toHaveLength(churn.length - 1);
    const dead = await readCommitted(adminKafka, config.topics.alertBridgeDeadLetter, 'security-test-dlq');
    expect(dead.map((m) => [m.key?.toString(), m.headers?.['dlq.error.code']?.toString()])).toEqual([
      ['somebody', 'DECODE_BAD_MAGIC'],
    ]);

    // The registry refusing the bridge's credentials is not a bad record: the bridge stops with
    // it at the good record, before the bad one, and dead-letters nothing (its group moved back to
    // the start, so the records are read again; a new serde has no schema cached).
    await admin.resetOffsets({
      groupId: alertBridgeGroup(config),
      topic: config.topics.churn,
      earliest: true,
    });
    proxy.refuseAll(true);
    try {
      const refused = await startAlertBridge(
        createKafka(kafkaClientOptions(config, '-alert-bridge'), logger),
        new AvroSerde(createRegistry(registryClientOptions(config))),
        config,
        () => Promise.resolve(),
        logger,
      );
      const err: unknown = await refused.done.then(
        () => new Error('the bridge went on'),
        (e: unknown) => e,
      );
      expect(isProcessorError(err) && err.code).toBe('REGISTRY_AUTH_FAILED');
    } finally {
      proxy.refuseAll(false);
    }
    expect(
      await readCommitted(adminKafka, config.topics.alertBridgeDeadLetter, 'security-test-dlq'),
    ).toHaveLength(1);
  });

  it('fails fast with KAFKA_AUTHENTICATION_FAILED on a wrong password', async () => {
    const app = createApp(serviceConfig({ IDRIFT_KAFKA_SASL_PASSWORD: 'not-the-password' }), logger);
    try {
      const err: unknown = await app.start().then(
        () => new Error('started with a wrong password'),
        (e: unknown) => e,
      );
      expect(isProcessorError(err) && err.code).toBe('KAFKA_AUTHENTICATION_FAILED');
      expect((err as Error).message).toContain(`Kafka user "${SERVICE_USER}"`);
      expect((err as Error).message).not.toContain('not-the-password');
    } finally {
      await app.stop('test done');
    }
  });
}

if (!javaAvailable()) {
  console.warn('[security] skipped: no `java` on PATH to run the SASL broker (test/harness/sasl-broker.sh)');
  describe.skip('security: SASL/SCRAM + TLS + ACLs [skipped: no `java` on PATH to run the SASL broker]', () => {
    it('needs Java 17+', () => undefined);
  });
} else {
  describeWithStack('security: SASL/SCRAM + TLS + ACLs on a broker with an authorizer', securityTests);
}
