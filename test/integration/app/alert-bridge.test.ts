/**
 * churn.risk → a REAL Prometheus Alertmanager (pinned, built by test/harness/alertmanager.sh) on
 * the real broker and registry: raised alerts fire with the pseudonym and level/reason labels, a
 * rise replaces the lower open alert, a return resolves the open one, and replaying the topic
 * (at-least-once) leaves the same alerts.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { CompressionTypes } from 'kafkajs';
import type { AlertmanagerAlert } from '../../../src/app/alertmanager';
import {
  ALERT_NAME,
  alertApplier,
  alertmanagerClient,
  createAlertIdLabeler,
} from '../../../src/app/alertmanager';
import { alertBridgeGroup, startAlertBridge } from '../../../src/kafka/alert-bridge';
import { createKafka, createRegistry } from '../../../src/kafka/clients';
import type { ChurnRisk } from '../../../src/kafka/avro-types.gen';
import { ChurnRiskSchema } from '../../../src/kafka/avro-types.gen';
import { waitCaughtUp } from '../../../src/kafka/caught-up';
import { AvroSerde, valueSubject } from '../../../src/kafka/serde';
import type { Config } from '../../../src/shared/config';
import { createLogger, createPseudonymiser } from '../../../src/shared/logger';
import { isProcessorError } from '../../../src/shared/errors';
import { appTopicsEnv } from '../../support/app-env';
import { eventually, httpGet, startCli } from '../../support/cli-process';
import { createTopicsFor, harnessConfig } from '../../support/processor-harness';
import { describeWithStack, readTopic, sleep, testKafka, testRegistry } from '../../support/stack';

const ROOT = join(__dirname, '..', '..', '..');
jest.setTimeout(600_000);

const KEY = 'a test key of 16+ characters';
const alertIdLabel = createAlertIdLabeler(Buffer.from(KEY));
const TEST_ALERT_IDS = [
  'a1',
  'a2',
  'b1',
  'bug1',
  'c1',
  'cli1',
  'cli2',
  'dlq-d1',
  'ha1',
  'ha2',
  'reg1',
  'skew1',
];
/** The alertId of the test whose keyed label is `label`, or `label` itself (an alert the test posted). */
const alertIdOf = (label: string): string => TEST_ALERT_IDS.find((id) => alertIdLabel(id) === label) ?? label;

function churn(over: Partial<ChurnRisk> & Pick<ChurnRisk, 'alertId' | 'userId' | 'level'>): ChurnRisk {
  return {
    scoredAtEventTimeMs: Date.UTC(2026, 10, 1),
    previousLevel: 'NONE',
    riskScore: 0.8,
    idleMs: 36 * 3_600_000,
    lastEventTimeMs: Date.UTC(2026, 9, 30),
    reasons: [
      { code: 'IDLE_TIME', value: 36, detail: 'no activity for 36.0 h (event time)' },
      { code: 'INACTIVITY_MODEL', value: 0.7, detail: 'model: 70 % chance of no event within 24 h' },
    ],
    trigger: 'EVENT_TIME_TIMER',
    modelVersion: 'm1',
    status: 'RAISED',
    resolution: null,
    replacesAlertId: null,
    ...over,
  };
}

/** A real Alertmanager process (unclustered) on a free port, with its own storage folder. */
interface RunningAlertmanager {
  readonly url: string;
  stop(): Promise<void>;
}

async function startAlertmanager(): Promise<RunningAlertmanager> {
  const bin = execFileSync(join(ROOT, 'test/harness/alertmanager.sh'), ['path'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 900_000,
  }).trim();
  const storage = mkdtempSync(join(tmpdir(), 'alertmanager-'));
  const port = 29_100 + Math.floor(Math.random() * 800);
  const url = `http://127.0.0.1:${port}`;
  const am: ChildProcess = spawn(
    bin,
    [
      `--config.file=${join(ROOT, 'test/harness/alertmanager/alertmanager.yml')}`,
      `--storage.path=${storage}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    { stdio: 'ignore' },
  );
  const stop = async (): Promise<void> => {
    // Alertmanager writes its snapshots to the storage folder as it shuts down: wait for it to
    // exit before removing the folder (a clean-clone `make test` failed here with ENOTEMPTY).
    if (am.exitCode === null && am.signalCode === null) {
      const exited = once(am, 'exit');
      am.kill('SIGTERM');
      await exited;
    }
    rmSync(storage, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (i > 100) {
      await stop();
      throw new Error('Alertmanager did not become ready');
    }
    await sleep(200);
  }
  return { url, stop };
}

describeWithStack('alert bridge to a real Alertmanager', (env) => {
  let am: RunningAlertmanager | undefined;
  let amUrl = '';
  let kafka: Kafka;

  beforeAll(async () => {
    am = await startAlertmanager();
    amUrl = am.url;
    kafka = testKafka(env);
  });

  afterAll(async () => {
    await am?.stop();
  });

  async function bridgeUntilCaughtUp(
    config: Config,
    includeUserId: boolean,
    nowMs: () => number = Date.now,
    urls: readonly string[] = [amUrl],
    onReplicaFailure?: (replica: number) => void,
  ): Promise<void> {
    const serde = new AvroSerde(testRegistry(env));
    const pseudonym = createPseudonymiser(Buffer.from(KEY));
    const bridge = await startAlertBridge(
      kafka,
      serde,
      config,
      alertApplier(
        urls.map((u) => alertmanagerClient(u)),
        { pseudonym, alertIdLabel, includeUserId, firingTtlMs: 3_600_000 },
        nowMs,
        onReplicaFailure,
      ),
      createLogger('warn'),
    );
    try {
      await waitCaughtUp(kafka, alertBridgeGroup(config), config.topics.churn, 120_000);
    } finally {
      await bridge.stop();
    }
  }

  /** Active alerts, each with `id`: the alertId its keyed alert_id label stands for (alertIdOf). */
  async function activeAlerts(url = amUrl): Promise<(AlertmanagerAlert & { id: string })[]> {
    const res = await fetch(`${url}/api/v2/alerts?filter=${encodeURIComponent(`alertname="${ALERT_NAME}"`)}`);
    return ((await res.json()) as AlertmanagerAlert[])
      .map((a) => ({ ...a, id: alertIdOf(a.labels.alert_id ?? '') }))
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  /** A fresh application whose churn topic holds `records` (keyed by user), with the churn schema's id. */
  async function churnTopicWith(
    name: string,
    records: ChurnRisk[],
  ): Promise<{ config: Config; serde: AvroSerde; id: number }> {
    const config = harnessConfig(env, name);
    await createTopicsFor(kafka, config);
    const serde = new AvroSerde(testRegistry(env));
    const id = await serde.register(valueSubject(config.topics.churn), ChurnRiskSchema, 'FULL_TRANSITIVE');
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: config.topics.churn,
      messages: records.map((r) => ({ key: r.userId, value: serde.encode(id, r) })),
    });
    await producer.disconnect();
    return { config, serde, id };
  }

  it('fires on raise, replaces on a rise, resolves on return, and stays the same on replay', async () => {
    const records = [
      churn({ alertId: 'a1', userId: 'alice', level: 'LOW' }),
      churn({ alertId: 'a2', userId: 'alice', level: 'MEDIUM', previousLevel: 'LOW', replacesAlertId: 'a1' }),
      churn({ alertId: 'b1', userId: 'bob', level: 'HIGH' }),
      churn({ alertId: 'c1', userId: 'carol', level: 'LOW' }),
      churn({
        alertId: 'a2',
        userId: 'alice',
        level: 'MEDIUM',
        status: 'RESOLVED',
        resolution: 'USER_RETURNED',
      }),
    ];
    const { config, serde, id } = await churnTopicWith('alerts', records);

    await bridgeUntilCaughtUp(config, false);
    const pseudonym = createPseudonymiser(Buffer.from(KEY));
    const first = await activeAlerts();
    expect(first.map((a) => [a.id, a.labels.level])).toEqual([
      ['b1', 'HIGH'],
      ['c1', 'LOW'],
    ]);
    const bob = first[0] as AlertmanagerAlert;
    expect(bob.labels).toEqual({
      alertname: ALERT_NAME,
      service: 'interest-drift',
      level: 'HIGH',
      reasons: 'IDLE_TIME,INACTIVITY_MODEL',
      user: pseudonym('bob'),
      alert_id: alertIdLabel('b1'), // keyed: the alertId is an unkeyed hash of the user id
    });
    expect(alertIdLabel('b1')).toMatch(/^a_[\w-]{16}$/);
    expect(bob.annotations.user_id).toBeUndefined();
    expect(JSON.stringify(first)).not.toMatch(/alice|bob|carol/);

    // Replay from the start (another group: at-least-once delivery seen twice): same alerts,
    // and with IDRIFT_ALERT_INCLUDE_USER_ID the real id only in an annotation.
    await bridgeUntilCaughtUp({ ...config, appId: `${config.appId}-replay` }, true);
    const again = await activeAlerts();
    expect(again.map((a) => a.id)).toEqual(['b1', 'c1']);
    expect(again.map((a) => a.annotations.user_id)).toEqual(['bob', 'carol']);
    expect(JSON.stringify(again.map((a) => a.labels))).not.toMatch(/alice|bob|carol/);

    // Carol comes back: her alert resolves.
    await (async () => {
      const p = kafka.producer();
      await p.connect();
      const r = churn({
        alertId: 'c1',
        userId: 'carol',
        level: 'LOW',
        status: 'RESOLVED',
        resolution: 'USER_RETURNED',
      });
      await p.send({ topic: config.topics.churn, messages: [{ key: 'carol', value: serde.encode(id, r) }] });
      await p.disconnect();
    })();
    await bridgeUntilCaughtUp(config, false);
    expect((await activeAlerts()).map((a) => a.id)).toEqual(['b1']);
  });

  it('sends a churn record it cannot decode to its dead-letter topic with the reason, and goes on', async () => {
    const { config, serde, id } = await churnTopicWith('alerts-dlq', []);
    const garbage = Buffer.from('not avro at all');
    const unknownId = Buffer.concat([Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0]), Buffer.from('x')]);
    const good = churn({ alertId: 'dlq-d1', userId: 'dora', level: 'HIGH' });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: config.topics.churn,
      messages: [
        // One partition, so the offsets are 0, 1, 2.
        { key: 'eve', value: garbage, headers: { trace: 't-1' }, partition: 0 },
        { key: 'dora', value: serde.encode(id, good), partition: 0 },
        { key: 'fay', value: unknownId, partition: 0 },
        // Valid Avro that no alert can carry: a time past what a Date holds (toISOString throws),
        // which stopped the bridge at every restart; and a null value, skipped without a trace.
        {
          key: 'gus',
          value: serde.encode(id, { ...good, alertId: 'dlq-g1', userId: 'gus', scoredAtEventTimeMs: 9e15 }),
          partition: 0,
        },
        { key: 'hal', value: null, partition: 0 },
      ],
    });
    // 2 MiB that its producer compressed to a few KB: its dead letter must go out compressed too.
    const huge = Buffer.from('{"note":"'.padEnd(2 * 1024 * 1024 - 2, 'x') + '"}');
    await producer.send({
      topic: config.topics.churn,
      compression: CompressionTypes.GZIP,
      messages: [{ key: 'ida', value: huge, partition: 0 }],
    });
    await producer.disconnect();

    await bridgeUntilCaughtUp(config, false);
    expect((await activeAlerts()).filter((a) => a.id === 'dlq-d1')).toHaveLength(1);
    const dead = await readTopic(kafka, config.topics.alertBridgeDeadLetter, { count: 5, settleMs: 1_000 });
    expect(dead.map((m) => [m.key?.toString(), m.value?.toString('hex')])).toEqual([
      ['eve', garbage.toString('hex')],
      ['fay', unknownId.toString('hex')],
      ['gus', expect.any(String)],
      ['hal', undefined],
      ['ida', expect.any(String)],
    ]);
    expect(dead[4]?.value?.equals(huge)).toBe(true);
    const h = (m: KafkaMessage, name: string): string | undefined => m.headers?.[name]?.toString();
    expect(dead.map((m) => [h(m, 'dlq.error.code'), h(m, 'dlq.source.offset'), h(m, 'dlq.stage')])).toEqual([
      ['DECODE_BAD_MAGIC', '0', 'alert-bridge'],
      ['DECODE_UNKNOWN_SCHEMA_ID', '2', 'alert-bridge'],
      ['VALIDATE_TIMESTAMP_OUT_OF_RANGE', '3', 'alert-bridge'],
      ['DECODE_MISSING_VALUE', '4', 'alert-bridge'],
      ['DECODE_BAD_MAGIC', '5', 'alert-bridge'],
    ]);
    expect(h(dead[0] as KafkaMessage, 'dlq.source.topic')).toBe(config.topics.churn);
    expect(h(dead[0] as KafkaMessage, 'dlq.original.trace')).toBe('t-1');
    expect(JSON.stringify(dead.map((m) => m.headers))).not.toMatch(/eve|fay|gus|hal|ida/);
  });

  // The registry behind a switch the test flips. Thrown to kafkajs, a registry outage crashed the
  // bridge's consumer, which left and rejoined its group about every 10 s for the whole outage.
  it('waits out a registry outage record by record, in its group, then delivers', async () => {
    const { config } = await churnTopicWith('alerts-registry-down', [
      churn({ alertId: 'reg1', userId: 'ivy', level: 'HIGH' }),
    ]);
    const registry = new URL(env.registryUrl);
    let up = false;
    const proxy = createServer((client) => {
      if (!up) return void client.destroy();
      const upstream = connect(Number(registry.port), registry.hostname);
      client.pipe(upstream).pipe(client);
      const close = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close);
      upstream.on('error', close);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxyUrl = `http://127.0.0.1:${String((proxy.address() as AddressInfo).port)}${registry.pathname}`;
    const lines: string[] = [];
    const logger = createLogger('warn', { write: (line) => void lines.push(line) });
    // A client of its own, so kafkajs' log lines (a consumer crash, a restart) are seen too.
    const bridgeKafka = createKafka({ brokers: env.brokers, clientId: 'registry-down' }, logger);
    const bridge = await startAlertBridge(
      bridgeKafka,
      new AvroSerde(createRegistry({ url: proxyUrl, retries: 0 })),
      config,
      alertApplier([alertmanagerClient(amUrl)], {
        pseudonym: createPseudonymiser(Buffer.from(KEY)),
        alertIdLabel,
        includeUserId: false,
        firingTtlMs: 3_600_000,
      }),
      logger,
    );
    try {
      await eventually(
        () =>
          Promise.resolve(lines.filter((l) => l.includes('churn record decoding failed; retrying')).length),
        (n) => n >= 3,
        60_000,
      );
      await sleep(12_000); // kafkajs' own retries of a thrown error end within about 10 s
      // Only what the outage causes: a fresh broker's coordinator may still be loading at the start.
      const outage = lines.filter((l) => /Crash|restart|re-?join/i.test(l) && /schema|registry/i.test(l));
      expect(outage).toEqual([]);
      up = true;
      await waitCaughtUp(kafka, alertBridgeGroup(config), config.topics.churn, 60_000);
      expect((await activeAlerts()).map((a) => a.id)).toContain('reg1');
    } finally {
      await bridge.stop();
      await new Promise((r) => proxy.close(r));
    }
  });

  it('stops, rejecting done, when delivering a record fails with a bug (not left alive and idle)', async () => {
    const { config, serde } = await churnTopicWith('alerts-bug', [
      churn({ alertId: 'bug1', userId: 'erin', level: 'LOW' }),
    ]);
    const bridge = await startAlertBridge(
      kafka,
      serde,
      config,
      () => Promise.reject(new TypeError("Cannot read properties of undefined (reading 'labels')")),
      createLogger('error'),
    );
    try {
      const outcome = await Promise.race([
        bridge.done.then(
          () => 'resolved',
          // kafkajs wraps it (KafkaJSNonRetriableError) with the same message
          (e: unknown) =>
            String(e).includes("reading 'labels'") ? 'rejected with the bug' : `rejected: ${String(e)}`,
        ),
        sleep(30_000).then(() => 'still running after 30 s'),
      ]);
      expect(outcome).toBe('rejected with the bug');
    } finally {
      await bridge.stop();
    }
  });

  it('tells a wrong URL (a deployment error) from an alert Alertmanager refuses (a bug)', async () => {
    const alert: AlertmanagerAlert = {
      labels: { alertname: ALERT_NAME, alert_id: 'codes1' },
      annotations: {},
      startsAt: new Date().toISOString(),
      endsAt: new Date(Date.now() + 60_000).toISOString(),
    };
    const codeOf = (e: unknown): string =>
      isProcessorError(e) ? e.code : `not a ProcessorError: ${String(e)}`;
    // The base URL with a path Alertmanager does not serve: 404 from the real program.
    const wrongUrl = await alertmanagerClient(`${amUrl}/no-such-prefix`)
      .post([alert])
      .catch((e: unknown) => e);
    expect(codeOf(wrongUrl)).toBe('ALERTMANAGER_ACCESS_FAILED');
    // An alert without labels: Alertmanager refuses it (400), which only a bug of ours can build.
    const invalid = await alertmanagerClient(amUrl)
      .post([{ ...alert, labels: {} }])
      .catch((e: unknown) => e);
    expect(codeOf(invalid)).toBe('ALERT_REJECTED');
  });

  it('takes credentials in the URL (a proxy with basic auth) and finds alerts by a label holding any character', async () => {
    const withCredentials = new URL(amUrl);
    withCredentials.username = 'bridge';
    withCredentials.password = 'p@ss:word';
    const client = alertmanagerClient(withCredentials.toString());
    const odd = 'odd "label" \\ with .*+?|() regex characters';
    await client.post([
      {
        labels: { alertname: ALERT_NAME, alert_id: odd },
        annotations: {},
        startsAt: new Date().toISOString(),
        endsAt: new Date(Date.now() + 60_000).toISOString(),
      },
    ]);
    const found = await client.find([odd, 'another']);
    expect(found.map((a) => a.labels.alert_id)).toEqual([odd]);
    expect(await client.find(['odd'])).toEqual([]);
  });

  it('posts to every Alertmanager replica, and goes on with the others while one is down', async () => {
    const second = await startAlertmanager();
    try {
      const { config, serde, id } = await churnTopicWith('alerts-ha', [
        churn({ alertId: 'ha1', userId: 'heidi', level: 'HIGH' }),
      ]);
      const missed: number[] = [];
      const urls = [amUrl, second.url];
      await bridgeUntilCaughtUp(config, false, Date.now, urls, (i) => missed.push(i));
      expect(missed).toEqual([]);
      for (const u of urls) expect((await activeAlerts(u)).map((a) => a.id)).toContain('ha1');

      // The second replica goes away; Heidi returns and Ivan's risk rises. The first replica gets
      // both records, the bridge does not wait for the second, and says it missed them.
      await second.stop();
      const p = kafka.producer();
      await p.connect();
      await p.send({
        topic: config.topics.churn,
        messages: [
          {
            key: 'heidi',
            value: serde.encode(
              id,
              churn({
                alertId: 'ha1',
                userId: 'heidi',
                level: 'HIGH',
                status: 'RESOLVED',
                resolution: 'USER_RETURNED',
              }),
            ),
          },
          {
            key: 'ivan',
            value: serde.encode(id, churn({ alertId: 'ha2', userId: 'ivan', level: 'MEDIUM' })),
          },
        ],
      });
      await p.disconnect();
      await bridgeUntilCaughtUp(config, false, Date.now, urls, (i) => missed.push(i));
      const first = (await activeAlerts()).map((a) => a.id);
      expect(first).toContain('ha2');
      expect(first).not.toContain('ha1');
      expect(missed).toEqual([1, 1]);
    } finally {
      await second.stop();
    }
  });

  it("resolves even when the bridge's clock runs ahead of Alertmanager's", async () => {
    const records = [
      churn({ alertId: 'skew1', userId: 'dave', level: 'HIGH' }),
      churn({
        alertId: 'skew1',
        userId: 'dave',
        level: 'HIGH',
        status: 'RESOLVED',
        resolution: 'USER_RETURNED',
      }),
    ];
    const { config } = await churnTopicWith('alerts-skew', records);
    await bridgeUntilCaughtUp(config, false, () => Date.now() + 5_000);
    expect((await activeAlerts()).map((a) => a.id)).not.toContain('skew1');
  });

  /** The sum of a metric's samples (every label set) in a Prometheus text exposition. */
  function total(metrics: string, name: string, labels = ''): number {
    const re = new RegExp(`^${name}\\{[^}]*${labels}[^}]*\\} (\\S+)$`, 'gm');
    return [...metrics.matchAll(re)].reduce((sum, m) => sum + Number(m[1]), 0);
  }

  it('the alert-bridge command serves metrics and probes; an Alertmanager outage shows as failures and lag', async () => {
    const { config } = await churnTopicWith('alerts-cli', [
      churn({ alertId: 'cli1', userId: 'frank', level: 'HIGH' }),
      churn({ alertId: 'cli2', userId: 'grace', level: 'LOW' }),
    ]);
    const bridgeEnv = (amBase: string, group: string, port: number): Record<string, string> => ({
      IDRIFT_KAFKA_BROKERS: env.brokers.join(','),
      IDRIFT_SCHEMA_REGISTRY_URL: env.registryUrl,
      ...appTopicsEnv(config.appId),
      IDRIFT_APP_ID: group, // the consumer group is `<appId>.alert-bridge`; the topics stay
      IDRIFT_ALERTMANAGER_URL: amBase,
      IDRIFT_LOG_PSEUDONYM_KEY: KEY,
      IDRIFT_HTTP_PORT: String(port),
      IDRIFT_LOG_LEVEL: 'info',
    });
    const port = 19_500 + Math.floor(Math.random() * 200);
    const up = startCli(['alert-bridge'], bridgeEnv(amUrl, config.appId, port));
    try {
      expect(
        (
          await eventually(
            () => httpGet(port, '/readyz'),
            (r) => r.status === 200,
          )
        ).status,
      ).toBe(200);
      expect(await httpGet(port, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
      expect((await httpGet(port, '/v1/users/frank/interests')).status).toBe(404);
      const m = await eventually(
        () => httpGet(port, '/metrics'),
        (r) => total(r.body, 'idrift_alert_bridge_records_total', 'outcome="delivered"') === 2,
      );
      expect(total(m.body, 'idrift_alert_bridge_records_total', 'outcome="delivered"')).toBe(2);
      // The lag is set after each record's heartbeat: a scrape may come just before.
      const caughtUp = await eventually(
        () => httpGet(port, '/metrics'),
        (r) => total(r.body, 'idrift_alert_bridge_lag_records') === 0,
      );
      expect(total(caughtUp.body, 'idrift_alert_bridge_lag_records')).toBe(0);
      expect(total(m.body, 'idrift_alert_bridge_delivery_failures_total')).toBe(0);
      expect(m.body).not.toMatch(/frank|grace/);
    } finally {
      up.child.kill('SIGTERM');
    }
    expect(await up.exited).toBe(0);
    expect((await activeAlerts()).map((a) => a.id)).toEqual(expect.arrayContaining(['cli1', 'cli2']));

    // Alertmanager unreachable (nothing listens there): the bridge stays up, retrying, and says so.
    const downPort = port + 300;
    const down = startCli(
      ['alert-bridge'],
      bridgeEnv('http://127.0.0.1:9', `${config.appId}-down`, downPort),
    );
    try {
      const m = await eventually(
        () => httpGet(downPort, '/metrics'),
        (r) =>
          total(r.body, 'idrift_alert_bridge_delivery_failures_total', 'code="ALERTMANAGER_UNAVAILABLE"') >=
          2,
      );
      expect(
        total(m.body, 'idrift_alert_bridge_delivery_failures_total', 'code="ALERTMANAGER_UNAVAILABLE"'),
      ).toBeGreaterThanOrEqual(2);
      expect(total(m.body, 'idrift_alert_bridge_records_total')).toBe(0);
      // The blocked batch's partition reports its record; a partition whose batch kafkajs has not
      // handed over yet (batches run one at a time) has no sample yet.
      expect(total(m.body, 'idrift_alert_bridge_lag_records')).toBeGreaterThanOrEqual(1);
      expect((await httpGet(downPort, '/healthz')).status).toBe(200);
    } finally {
      down.child.kill('SIGTERM');
    }
    expect(await down.exited).toBe(0);
  });

  it('the alert-bridge command refuses to start, naming it, when its dead-letter topic does not exist', async () => {
    const { config } = await churnTopicWith('alerts-nodlq', []);
    const missing = `${config.appId}.no-such-dlq`;
    const run = startCli(['alert-bridge'], {
      IDRIFT_KAFKA_BROKERS: env.brokers.join(','),
      IDRIFT_SCHEMA_REGISTRY_URL: env.registryUrl,
      ...appTopicsEnv(config.appId),
      IDRIFT_ALERT_BRIDGE_DLQ_TOPIC: missing,
      IDRIFT_ALERTMANAGER_URL: amUrl,
      IDRIFT_LOG_PSEUDONYM_KEY: KEY,
      IDRIFT_HTTP_PORT: String(19_800 + Math.floor(Math.random() * 100)),
    });
    const code = await run.exited;
    expect(code).toBe(1);
    expect(run.output()).toContain('KAFKA_TOPIC_MISSING');
    expect(run.output()).toContain(`topic "${missing}" does not exist; alert-bridge needs it`);
    expect(run.output()).not.toContain(`topic "${config.topics.churn}"`);
  });
});
