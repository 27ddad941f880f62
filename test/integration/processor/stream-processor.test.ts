/**
 * The stream processor on the REAL local broker and registry, with the real ONNX runtime
 * (tiny fixture model): end-to-end outputs, restart equivalence, dead letters.
 */
import type { Kafka } from 'kafkajs';
import { CompressionTypes } from 'kafkajs';
import { randomBytes } from 'node:crypto';
import { TRUNCATED_PREFIX_BYTES } from '../../../src/kafka/dead-letter';
import { redriveDeadLetters } from '../../../src/kafka/dead-letter-redrive';
import type { Config } from '../../../src/shared/config';
import { coreParams } from '../../../src/pipeline/params';
import { createLogger } from '../../../src/shared/logger';
import { readCommitted } from '../../../src/kafka/output-reader';
import { validateEvent } from '../../../src/core/validate';
import type { ClickstreamEvent } from '../../../src/kafka/avro-types.gen';
import { readerType } from '../../../src/kafka/serde';
import { loadManifest } from '../../../src/model/model-manifest';
import { createOnnxEncoder } from '../../../src/model/onnx-encoder';
import type { PipelineRecord } from '../../../src/pipeline/partition-processor';
import { PartitionProcessor } from '../../../src/pipeline/partition-processor';
import { objectStateView } from '../../../src/state/state-view';
import type { UserState } from '../../../src/core/user-state';
import { ClickstreamEventSchema, DeadLetterHeaders } from '../../../src/kafka/avro-types.gen';
import { createRegistry } from '../../../src/kafka/clients';
import { transactionalId } from '../../../src/kafka/partition-task';
import { AvroSerde, frame } from '../../../src/kafka/serde';
import { replayRows } from '../../../src/kafka/replay-producer';
import type { DatasetRow } from '../../../src/io/datasets';
import { simulate } from '../../../src/sim/simulator';
import { waitCaughtUp } from '../../../src/kafka/caught-up';
import { churnReader, decodeAll, migrationReader } from '../../../src/kafka/output-reader';
import { describeWithStack, testKafka, testRegistry } from '../../support/stack';
import {
  createTopicsFor,
  harnessConfig,
  lastPerKey,
  perKey,
  readOutputs,
  runUntilCaughtUp,
  startApp,
} from '../../support/processor-harness';
import { committedTotal, sleep, waitProgress } from '../../support/committed-progress';

jest.setTimeout(240_000);

function workload(): DatasetRow[] {
  // Two simulated days of 120 users: migrations, quiet users and churn timers all happen.
  return simulate({ seed: 11, users: 300, days: 2, activityScale: 3 }).rows;
}

/** `run` committed the same outputs, per key and in order, and the same final states as `reference`. */
async function expectSameCommitted(kafka: Kafka, reference: Config, run: Config): Promise<void> {
  const a = await readOutputs(kafka, reference);
  const b = await readOutputs(kafka, run);
  expect(a.migrations.length + a.churn.length).toBeGreaterThan(0);
  expect(perKey(b.migrations)).toEqual(perKey(a.migrations));
  expect(perKey(b.churn)).toEqual(perKey(a.churn));
  expect(perKey(b.profiles)).toEqual(perKey(a.profiles));
  expect(lastPerKey(b.changelog)).toEqual(lastPerKey(a.changelog));
}

describeWithStack('stream processor on the real broker and registry', (env) => {
  let kafka: Kafka;

  beforeAll(() => {
    kafka = testKafka(env);
  });

  it('replays end to end: the committed outputs are exactly what the brokerless topology computes', async () => {
    const config = harnessConfig(env, 'ref-e2e');
    await createTopicsFor(kafka, config);
    const rows = workload();
    await replayRows(kafka, new AvroSerde(testRegistry(env)), rows, {
      topic: config.topics.input,
      idPrefix: 't',
    });
    await runUntilCaughtUp(kafka, config);
    const out = await readOutputs(kafka, config);

    // Reference: read the input back per partition and run the pure topology on it in one batch.
    const serde = new AvroSerde(testRegistry(env));
    const input = await readCommitted(kafka, config.topics.input, `${config.appId}.ref`);
    const byPartition = new Map<number, PipelineRecord[]>();
    for (const m of input) {
      const raw = await serde.decode(m.value, readerType<ClickstreamEvent>(ClickstreamEventSchema));
      const v = validateEvent(raw, m.key?.toString() ?? null, Number(m.timestamp));
      if (!v.ok) throw new Error('unexpected invalid input');
      const p = m.partition;
      const list = byPartition.get(p) ?? [];
      list.push({ kind: 'event', offset: m.offset, event: v.event });
      byPartition.set(p, list);
    }
    expect(byPartition.has(-1)).toBe(false);
    const manifest = loadManifest(config.model.metaPath);
    const { encoder } = await createOnnxEncoder(
      { modelPath: config.model.path, manifestPath: config.model.metaPath, provider: 'cpu' },
      createLogger('warn'),
    );
    const expected = { migration: [] as unknown[], churn: [] as unknown[] };
    for (const [, records] of [...byPartition.entries()].sort((a, b) => a[0] - b[0])) {
      records.sort((a, b) => Number(BigInt(a.offset) - BigInt(b.offset)));
      const states = new Map<string, UserState>();
      const proc = new PartitionProcessor(objectStateView(states), {
        encoder,
        manifest,
        params: coreParams(config, manifest),
        profilesEnabled: true,
      });
      const plan = await proc.process(records);
      for (const o of plan.outputs) {
        if (o.kind === 'migration' || o.kind === 'churn') expected[o.kind].push(o.value);
      }
    }
    await encoder.dispose();
    const byId = <T extends object>(list: T[], key: keyof T): T[] =>
      [...list].sort((a, b) => (String(a[key]) < String(b[key]) ? -1 : 1));
    const gotMigrations = await decodeAll(serde, out.migrations, migrationReader);
    const gotChurn = await decodeAll(serde, out.churn, churnReader);
    expect(expected.churn.length).toBeGreaterThan(0);
    expect(byId(gotMigrations, 'migrationId')).toEqual(
      byId(expected.migration as typeof gotMigrations, 'migrationId'),
    );
    expect(byId(gotChurn, 'alertId')).toEqual(byId(expected.churn as typeof gotChurn, 'alertId'));
  });

  it('replays end to end: committed outputs decode and match the input', async () => {
    const config = harnessConfig(env, 'e2e');
    await createTopicsFor(kafka, config);
    const rows = workload();
    await replayRows(kafka, new AvroSerde(testRegistry(env)), rows, {
      topic: config.topics.input,
      idPrefix: 't',
    });
    await runUntilCaughtUp(kafka, config);
    const out = await readOutputs(kafka, config);
    const serde = new AvroSerde(testRegistry(env));
    const migrations = await decodeAll(serde, out.migrations, migrationReader);
    const churn = await decodeAll(serde, out.churn, churnReader);
    const users = new Set(rows.map((r) => r.userId));
    expect(out.deadLetters).toHaveLength(0);
    expect(lastPerKey(out.changelog).size).toBe(users.size);
    expect(churn.length).toBeGreaterThan(0);
    for (const c of churn) {
      expect(users.has(c.userId)).toBe(true);
      expect(['LOW', 'MEDIUM', 'HIGH']).toContain(c.level);
    }
    for (const m of migrations) expect(m.fromCategories.length).toBeGreaterThan(0);
    expect(new Set(migrations.map((m) => m.migrationId)).size).toBe(migrations.length);
    expect(out.profiles.length).toBeGreaterThan(0);
  });

  it('counts the key and value bytes of the input it commits (idrift_input_bytes_total)', async () => {
    const config = harnessConfig(env, 'input-bytes');
    await createTopicsFor(kafka, config);
    await replayRows(kafka, new AvroSerde(testRegistry(env)), workload(), {
      topic: config.topics.input,
      idPrefix: 't',
    });
    const input = await readCommitted(kafka, config.topics.input, `${config.appId}.ref`);
    const bytesByPartition = new Map<string, number>();
    for (const m of input) {
      const p = String(m.partition);
      bytesByPartition.set(p, (bytesByPartition.get(p) ?? 0) + (m.key?.length ?? 0) + (m.value?.length ?? 0));
    }
    const app = await startApp(config);
    try {
      await waitCaughtUp(kafka, config.appId, config.topics.input, 120_000);
    } finally {
      await app.stop('test done');
    }
    const counted = (await app.metrics.inputBytes.get()).values;
    expect(new Map(counted.map((v) => [String(v.labels.partition), v.value]))).toEqual(bytesByPartition);
    const changelog = (await app.metrics.changelogBytes.get()).values[0]?.value ?? 0;
    expect(changelog).toBeGreaterThan(0);
  });

  it('commits the same outputs and final state when stopped and restarted mid-stream', async () => {
    const rows = workload();
    const reference = harnessConfig(env, 'ref');
    const restarted = harnessConfig(env, 'restart');
    for (const c of [reference, restarted]) {
      await createTopicsFor(kafka, c);
      await replayRows(kafka, new AvroSerde(testRegistry(env)), rows, {
        topic: c.topics.input,
        idPrefix: 't',
      });
    }
    await runUntilCaughtUp(kafka, reference);

    // Stop the second run several times while it is busy, then let it finish. Each stop must
    // land mid-stream (some but not all input committed), or the test proves nothing.
    const progress: number[] = [];
    for (let i = 0; i < 3; i++) {
      const app = await startApp(restarted);
      // Poll finely (20 ms): the stop must land while the run is still busy.
      await waitProgress(kafka, restarted.appId, restarted.topics.input, progress[i - 1] ?? 0, 12_000, 20);
      await app.stop('test restart');
      progress.push(await committedTotal(kafka, restarted.appId, restarted.topics.input));
    }
    await runUntilCaughtUp(kafka, restarted);
    expect(progress.every((p) => p > 0 && p < rows.length)).toBe(true);
    expect(new Set(progress).size).toBe(3);

    await expectSameCommitted(kafka, reference, restarted);
  });

  it('fenced again and again mid-stream: restores and resumes, committing exactly what a run without fences commits', async () => {
    const rows = workload();
    const reference = harnessConfig(env, 'ref-fence');
    const fenced = harnessConfig(env, 'fenced');
    await createTopicsFor(kafka, reference);
    await replayRows(kafka, new AvroSerde(testRegistry(env)), rows, {
      topic: reference.topics.input,
      idPrefix: 't',
    });
    await runUntilCaughtUp(kafka, reference);

    // The input arrives over about 12 s (two simulated days), so the processor keeps up and commits
    // many small transactions. Meanwhile a producer with one partition's transactional id fences
    // ours every 300 ms: the transaction in flight, or that partition's next one, fails, and the
    // partition restores and goes on from its committed offset.
    await createTopicsFor(kafka, fenced);
    const app = await startApp(fenced);
    try {
      const spanMs = (rows[rows.length - 1]?.eventTimeMs ?? 0) - (rows[0]?.eventTimeMs ?? 0);
      let replaying = true;
      const replay = replayRows(kafka, new AvroSerde(testRegistry(env)), rows, {
        topic: fenced.topics.input,
        idPrefix: 't',
        batchSize: 100,
        speedup: spanMs / 12_000,
      }).finally(() => (replaying = false));
      for (let fences = 0; replaying; fences++) {
        const zombie = kafka.producer({
          transactionalId: transactionalId(fenced, fences % fenced.kafka.inputPartitions),
          idempotent: true,
          maxInFlightRequests: 1,
        });
        await zombie.connect();
        // kafkajs sends InitProducerId, which bumps the epoch, at the first transaction().
        await (await zombie.transaction()).abort();
        await zombie.disconnect();
        await sleep(300);
      }
      await replay;
      await waitCaughtUp(kafka, fenced.appId, fenced.topics.input, 120_000);
      const fences = (await app.metrics.fenced.get()).values[0]?.value ?? 0;
      expect(fences).toBeGreaterThan(0);
    } finally {
      await app.stop('test done');
    }

    await expectSameCommitted(kafka, reference, fenced);
  });

  it('processing-time timers: a tick that only evicts commits, with its tombstones in that transaction', async () => {
    // No event time moves after the replay: only the wall-clock ticks (every 200 ms) advance the
    // watermark, past every user's TTL after about 1.5 s. States are due for the changelog only
    // after 10 minutes, so the tombstones can only come from the ticks' own transactions.
    const config = harnessConfig(env, 'pt-evict', {
      IDRIFT_IDLE_PARTITION_TIMER_MS: '200',
      IDRIFT_STATE_TTL_MS: '1500',
      IDRIFT_ALLOWED_LATENESS_MS: '0',
      IDRIFT_STATE_FLUSH_INTERVAL_MS: '600000',
    });
    await createTopicsFor(kafka, config);
    const t = Date.now() - 1_000;
    const users = Array.from({ length: 12 }, (_, i) => `pt-user-${i}`);
    const rows: DatasetRow[] = users.map((userId) => ({
      userId,
      itemId: 'i',
      categoryId: 'c1',
      kind: 'view',
      eventTimeMs: t,
      sessionId: null,
      priceMinorUnits: null,
    }));
    await replayRows(kafka, new AvroSerde(testRegistry(env)), rows, {
      topic: config.topics.input,
      idPrefix: 'pt',
    });
    const app = await startApp(config);
    try {
      await waitCaughtUp(kafka, config.appId, config.topics.input, 60_000);
      let states = new Map<string, string | null>();
      for (let i = 0; i < 20 && !users.every((u) => states.get(u) === null); i++) {
        await sleep(500);
        states = lastPerKey((await readOutputs(kafka, config)).changelog);
      }
      expect(users.map((u) => states.get(u))).toEqual(users.map(() => null));
      expect((await app.metrics.evicted.get()).values[0]?.value).toBe(users.length);
    } finally {
      await app.stop('test done');
    }
  });

  // A producer that writes JSON to the input: a chunk of 2,000 small bad records, each with a
  // tracing header, is ~1.3 MB of dead letters for one partition once their reason headers are
  // added. Sent as one record batch, the broker refused it (MESSAGE_TOO_LARGE: fatal, and the
  // same chunk again after every restart).
  it('dead-letters a flood of small bad records with headers, without a batch the broker refuses', async () => {
    const config = harnessConfig(env, 'dlq-flood', { IDRIFT_MAX_BATCH_RECORDS: '2000' });
    await createTopicsFor(kafka, config);
    const producer = kafka.producer();
    await producer.connect();
    for (let i = 0; i < 2000; i += 500) {
      await producer.send({
        topic: config.topics.input,
        messages: Array.from({ length: 500 }, (_, j) => ({
          key: `json-user-${i + j}`,
          value: Buffer.from(
            `{"userId":"json-user-${i + j}","type":"VIEW","itemId":"item-${i + j}","categoryId":"cat-17","ts":1764400000000}`,
          ),
          partition: 0,
          headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
        })),
      });
    }
    await producer.disconnect();
    await runUntilCaughtUp(kafka, config);
    const out = await readOutputs(kafka, config);
    expect(out.deadLetters).toHaveLength(2000);
    expect(
      new Set(out.deadLetters.map((m) => m.headers?.[DeadLetterHeaders.sourceOffset]?.toString())).size,
    ).toBe(2000);
  });

  // A 2 MiB record its producer compressed: the input topic took it (1 MiB limit, compressed), but
  // its dead letter, sent uncompressed, was refused by the broker on every attempt.
  it('dead-letters a record too large for the broker uncompressed that its producer compressed', async () => {
    const config = harnessConfig(env, 'dlq-huge');
    await createTopicsFor(kafka, config);
    const huge = Buffer.from('{"userId":"huge-user","note":"'.padEnd(2 * 1024 * 1024 - 2, 'x') + '"}');
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: config.topics.input,
      compression: CompressionTypes.GZIP,
      messages: [{ key: 'huge-user', value: huge }],
    });
    await producer.disconnect();
    await runUntilCaughtUp(kafka, config);
    const out = await readOutputs(kafka, config);
    expect(out.deadLetters).toHaveLength(1);
    const dead = out.deadLetters[0] as (typeof out.deadLetters)[number];
    expect(dead.headers?.[DeadLetterHeaders.errorCode]?.toString()).toBe('VALIDATE_OVERSIZE');
    expect(dead.value?.equals(huge)).toBe(true);
  });

  // A record nothing compresses, just under the input topic's 1 MiB limit: its dead letter, with
  // the reason headers added, was over the limit even gzipped and refused on every attempt.
  it('dead-letters a prefix of a record too large to write again even gzipped', async () => {
    const config = harnessConfig(env, 'dlq-incompressible');
    await createTopicsFor(kafka, config);
    const value = randomBytes(1_048_300);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: config.topics.input, messages: [{ key: 'huge-user', value }] });
    await producer.disconnect();
    await runUntilCaughtUp(kafka, config);
    const out = await readOutputs(kafka, config);
    expect(out.deadLetters).toHaveLength(1);
    const dead = out.deadLetters[0] as (typeof out.deadLetters)[number];
    expect(dead.headers?.[DeadLetterHeaders.errorCode]?.toString()).toBe('VALIDATE_OVERSIZE');
    expect(dead.headers?.[DeadLetterHeaders.truncatedValueBytes]?.toString()).toBe('1048300');
    expect(dead.value?.equals(value.subarray(0, TRUNCATED_PREFIX_BYTES))).toBe(true);
    expect(dead.key?.toString()).toBe('huge-user');
    // A prefix is not the record: re-driving it would only dead-letter it again.
    expect(await redriveDeadLetters(kafka, config, { codes: [] }, { dryRun: false })).toMatchObject({
      matched: 0,
      redriven: 0,
      truncated: 1,
    });
  });

  it('dead-letters every kind of bad input with its headers and keeps processing good records', async () => {
    const config = harnessConfig(env, 'dlq', { IDRIFT_MAX_RECORD_BYTES: '2048' });
    await createTopicsFor(kafka, config);
    const serde = new AvroSerde(createRegistry({ url: env.registryUrl }));
    const rows = simulate({ seed: 3, users: 20, days: 1, activityScale: 2 }).rows;
    const half = Math.floor(rows.length / 2);
    await replayRows(kafka, serde, rows.slice(0, half), { topic: config.topics.input, idPrefix: 'g' });
    const id = await serde.register(`${config.topics.input}-value`, ClickstreamEventSchema);
    const good = {
      eventId: 'x',
      userId: 'poison-user',
      itemId: 'i',
      categoryId: 'c',
      eventType: 'VIEW',
      eventTimeMs: rows[half]?.eventTimeMs ?? Date.UTC(2017, 10, 26),
      sessionId: null,
      priceMinorUnits: null,
      currencyCode: null,
    };
    const valid = serde.encode(id, good);
    const ts = String(good.eventTimeMs);
    const bad = [
      { kind: 'bad magic', key: 'poison-user', value: Buffer.from('plain text'), code: 'DECODE_BAD_MAGIC' },
      {
        kind: 'unknown schema id',
        key: 'poison-user',
        value: frame(1_999_999_999, valid.subarray(5)),
        code: 'DECODE_UNKNOWN_SCHEMA_ID',
      },
      {
        kind: 'truncated',
        key: 'poison-user',
        value: valid.subarray(0, valid.length - 4),
        code: 'DECODE_AVRO_INVALID',
      },
      {
        kind: 'empty user id',
        key: '',
        value: serde.encode(id, { ...good, userId: '' }),
        code: 'VALIDATE_FIELD_INVALID',
      },
      { kind: 'key mismatch', key: 'someone-else', value: valid, code: 'VALIDATE_FIELD_INVALID' },
      {
        kind: 'unknown type',
        key: 'poison-user',
        value: serde.encode(id, { ...good, eventType: 'UNKNOWN' }),
        code: 'VALIDATE_UNKNOWN_EVENT_TYPE',
      },
      {
        kind: 'future',
        key: 'poison-user',
        value: serde.encode(id, { ...good, eventTimeMs: good.eventTimeMs + 10 * 365 * 86_400_000 }),
        code: 'VALIDATE_TIMESTAMP_OUT_OF_RANGE',
      },
      {
        kind: 'negative time',
        key: 'poison-user',
        value: serde.encode(id, { ...good, eventTimeMs: -5 }),
        code: 'VALIDATE_TIMESTAMP_OUT_OF_RANGE',
      },
      {
        kind: 'oversize',
        key: 'poison-user',
        value: serde.encode(id, { ...good, itemId: 'x'.repeat(4000) }),
        code: 'VALIDATE_OVERSIZE',
      },
    ];
    // A valid event two days behind everything already read: late in any partition.
    const lateEventTimeMs = (rows[0]?.eventTimeMs ?? 0) - 2 * 86_400_000;
    const late = serde.encode(id, { ...good, userId: 'late-user', eventTimeMs: lateEventTimeMs });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: config.topics.input,
      messages: [
        ...bad.map((b) => ({
          key: b.key || null,
          value: b.value,
          timestamp: ts,
          headers: { kind: b.kind },
        })),
        { key: 'late-user', value: late, timestamp: ts, headers: { kind: 'late' } },
      ],
    });
    await producer.disconnect();
    await replayRows(kafka, serde, rows.slice(half), { topic: config.topics.input, idPrefix: 'g' });

    const app = await startApp(config);
    try {
      await waitCaughtUp(kafka, config.appId, config.topics.input, 120_000);
    } finally {
      await app.stop('test done');
    }
    const out = await readOutputs(kafka, config);
    const got = out.deadLetters.map((m) => ({
      kind: m.headers?.['dlq.original.kind']?.toString(),
      code: m.headers?.[DeadLetterHeaders.errorCode]?.toString(),
      topic: m.headers?.[DeadLetterHeaders.sourceTopic]?.toString(),
      offset: m.headers?.[DeadLetterHeaders.sourceOffset]?.toString(),
      stage: m.headers?.[DeadLetterHeaders.stage]?.toString(),
      message: m.headers?.[DeadLetterHeaders.errorMessage]?.toString() ?? '',
    }));
    expect(got.map((g) => [g.kind, g.code]).sort()).toEqual(bad.map((b) => [b.kind, b.code]).sort());
    for (const g of got) {
      expect(g.topic).toBe(config.topics.input);
      expect(g.offset).toMatch(/^\d+$/);
      expect(['decode', 'validate']).toContain(g.stage);
      expect(g.message).not.toContain('poison-user');
    }
    // Original bytes are kept untouched.
    const truncated = out.deadLetters.find(
      (m) => m.headers?.['dlq.original.kind']?.toString() === 'truncated',
    );
    expect(truncated?.value?.equals(valid.subarray(0, valid.length - 4))).toBe(true);
    // Every good record, before and after the poison, was processed.
    const states = lastPerKey(out.changelog);
    for (const u of new Set(rows.map((r) => r.userId))) expect(states.get(u)).toBeTruthy();
    expect(states.has('poison-user')).toBe(false);
    // The late event went to the late-events topic, untouched, with the watermark; not to the DLQ.
    expect(out.late).toHaveLength(1);
    const l = out.late[0] as (typeof out.late)[number];
    expect(l.key?.toString()).toBe('late-user');
    expect(l.value?.equals(late)).toBe(true);
    expect(l.headers?.[DeadLetterHeaders.errorCode]?.toString()).toBe('EVENT_LATE');
    expect(l.headers?.[DeadLetterHeaders.stage]?.toString()).toBe('lateness');
    expect(l.headers?.[DeadLetterHeaders.eventTimeMs]?.toString()).toBe(String(lateEventTimeMs));
    expect(Number(l.headers?.[DeadLetterHeaders.watermarkMs]?.toString())).toBeGreaterThan(lateEventTimeMs);
    expect(l.headers?.['dlq.original.kind']?.toString()).toBe('late');
    expect(states.has('late-user')).toBe(false);
  });
});
