/**
 * openPartitionTask's replay (src/kafka/partition-task.ts) on the real broker: the input after the
 * changelog checkpoint goes through the topology in chunks of at most IDRIFT_MAX_BATCH_RECORDS,
 * as the live loop's do, not one encoder call per fetched batch (up to 4 MiB of input). The soak
 * traced its RSS level per process life to the length of that replay. And the restore of states
 * written ahead of the checkpoint (state version 4): the replay skips their users' records below
 * each applied offset.
 */
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { UserState } from '../../../src/core/user-state';
import { decodeRecord } from '../../../src/kafka/record-decoder';
import { assertReadComplete, readToEnd } from '../../../src/kafka/read-to-end';
import type { PipelineRecord } from '../../../src/pipeline/partition-processor';
import { PartitionProcessor } from '../../../src/pipeline/partition-processor';
import { encodeEntry } from '../../../src/state/changelog-entry';
import { StateStore } from '../../../src/state/state-store';
import { nearlyEqual } from '../../system/lib/verify';
import { systemClock } from '../../../src/core/clock';
import type { PartitionTask } from '../../../src/kafka/partition-task';
import { openPartitionTask } from '../../../src/kafka/partition-task';
import type { ModelManifest } from '../../../src/model/model-manifest';
import type { Config } from '../../../src/shared/config';
import { replayRows } from '../../../src/kafka/replay-producer';
import { AvroSerde } from '../../../src/kafka/serde';
import { coreParams, validationLimits } from '../../../src/pipeline/params';
import { simulate } from '../../../src/sim/simulator';
import { CHECKPOINT_KEY, encodeCheckpoint } from '../../../src/state/checkpoint';
import { isProcessorError } from '../../../src/shared/errors';
import { createLogger } from '../../../src/shared/logger';
import { createMetrics } from '../../../src/shared/metrics';
import { FakeEncoder, fakeManifest } from '../../support/fake-encoder';
import { createTopicsFor, harnessConfig } from '../../support/processor-harness';
import { describeWithStack, testKafka, testRegistry } from '../../support/stack';

describeWithStack('partition task replay on the real broker', (env) => {
  let kafka: Kafka;

  /** The task of partition p as the processor opens it (fence, restore, replay). */
  const openTask = (
    config: Config,
    serde: AvroSerde,
    encoder: FakeEncoder,
    manifest: ModelManifest,
    p: number,
  ): Promise<PartitionTask> =>
    openPartitionTask(
      {
        config,
        kafka,
        serde,
        encoder,
        manifest,
        params: coreParams(config, manifest),
        metrics: createMetrics(undefined, false),
        logger: createLogger('warn'),
        clock: systemClock,
        limits: validationLimits(config),
      },
      p,
      () => false,
    );

  beforeAll(() => {
    kafka = testKafka(env);
  });

  /**
   * A config whose input holds one simulated day of 200 users (a few hundred records per partition),
   * with partition p's changelog checkpoint at `checkpointAt(end)`; `end` is p's high watermark.
   */
  async function withCheckpoint(
    name: string,
    p: number,
    checkpointAt: (end: bigint) => bigint,
    overrides: Record<string, string> = {},
  ): Promise<{ config: Config; serde: AvroSerde; end: bigint }> {
    const config = harnessConfig(env, name, overrides);
    await createTopicsFor(kafka, config);
    const serde = new AvroSerde(testRegistry(env));
    await replayRows(kafka, serde, simulate({ seed: 7, users: 200, days: 1 }).rows, {
      topic: config.topics.input,
      idPrefix: 'rp',
    });
    const admin = kafka.admin();
    await admin.connect();
    let end: bigint;
    try {
      const offsets = await admin.fetchTopicOffsets(config.topics.input);
      end = BigInt(offsets.find((o) => o.partition === p)?.high ?? '0');
    } finally {
      await admin.disconnect();
    }
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: config.topics.userStateChangelog,
      messages: [
        {
          key: CHECKPOINT_KEY,
          value: Buffer.from(encodeCheckpoint({ offset: checkpointAt(end) })),
          partition: p,
        },
      ],
    });
    await producer.disconnect();
    return { config, serde, end };
  }

  /** The group's committed offset of partition p, as after the processor committed up to `offset`. */
  async function commitOffset(config: Config, p: number, offset: bigint): Promise<void> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.setOffsets({
        groupId: config.appId,
        topic: config.topics.input,
        partitions: [{ partition: p, offset: offset.toString() }],
      });
    } finally {
      await admin.disconnect();
    }
  }

  it('replays the input after the checkpoint in chunks no larger than the live loop’s', async () => {
    const chunk = 25;
    const p = 0;
    // As after a crash: the changelog's checkpoint is at 0, the group committed everything.
    const { config, serde, end } = await withCheckpoint('replay-chunks', p, () => 0n, {
      IDRIFT_MAX_BATCH_RECORDS: String(chunk),
    });
    await commitOffset(config, p, end);

    const encoder = new FakeEncoder();
    const manifest = fakeManifest();
    const task = await openTask(config, serde, encoder, manifest, p);
    try {
      expect(task.partition).toBe(p);
      expect(BigInt(task.replayedRecords)).toBe(end);
      expect(end).toBeGreaterThan(BigInt(4 * chunk));
      expect(encoder.calls.length).toBeGreaterThanOrEqual(Number(end) / chunk);
      expect(Math.max(...encoder.calls)).toBeLessThanOrEqual(chunk);
      expect(task.dirty.size).toBe(task.states.size);
      expect(task.states.size).toBeGreaterThan(chunk);
    } finally {
      await task.producer.disconnect();
    }
  }, 120_000);

  it('resumes at the changelog checkpoint when the group has no committed offset (offsets expired)', async () => {
    const p = 0;
    const { config, serde, end } = await withCheckpoint('resume-expired', p, (e) => e / 2n);
    expect(end).toBeGreaterThan(10n);
    const task = await openTask(config, serde, new FakeEncoder(), fakeManifest(), p);
    try {
      // Not -1, which made the consumer read the input from its start into states that hold it.
      expect(task.nextOffset).toBe(end / 2n);
      expect(task.replayedRecords).toBe(0);
    } finally {
      await task.producer.disconnect();
    }
  }, 120_000);

  it("refuses to start when the group's offsets were reset behind the checkpoint (the states hold those records)", async () => {
    const p = 0;
    const { config, serde, end } = await withCheckpoint('offsets-reset', p, (e) => e / 2n);
    expect(end).toBeGreaterThan(10n);
    await commitOffset(config, p, end / 4n);
    const refused = await openTask(config, serde, new FakeEncoder(), fakeManifest(), p).catch(
      (e: unknown) => e,
    );
    expect(isProcessorError(refused) && [refused.code, refused.fatal]).toEqual([
      'OFFSETS_BEHIND_STATE',
      true,
    ]);
    expect(String(refused)).toContain(`${end / 2n - end / 4n} records twice`);
    // At the checkpoint (an orderly stop), the task opens as usual.
    await commitOffset(config, p, end / 2n);
    const task = await openTask(config, serde, new FakeEncoder(), fakeManifest(), p);
    try {
      expect(task.nextOffset).toBe(end / 2n);
    } finally {
      await task.producer.disconnect();
    }
  }, 120_000);

  it('replays from the log start when retention deleted input after the checkpoint', async () => {
    const p = 0;
    const { config, serde, end } = await withCheckpoint('replay-retention', p, () => 0n);
    const deleted = 20n;
    await commitOffset(config, p, end);
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.fetchTopicMetadata({ topics: [config.topics.input] }); // deleteTopicRecords needs it loaded
      await admin.deleteTopicRecords({
        topic: config.topics.input,
        partitions: [{ partition: p, offset: deleted.toString() }],
      });
    } finally {
      await admin.disconnect();
    }
    const task = await openTask(config, serde, new FakeEncoder(), fakeManifest(), p);
    try {
      // Before: the consumer, asked for offset 0, was reset to the log's end and replayed nothing.
      expect(BigInt(task.replayedRecords)).toBe(end - deleted);
    } finally {
      await task.producer.disconnect();
    }
  }, 120_000);

  it.each([
    ['the group committed every record: the replay', true],
    ['the group offsets expired: the live loop, resuming at the checkpoint', false],
  ])(
    'restores states written ahead of the checkpoint; %s applies no record twice',
    async (_case, committed) => {
      const config = harnessConfig(env, committed ? 'replay-ahead' : 'resume-ahead');
      await createTopicsFor(kafka, config);
      const serde = new AvroSerde(testRegistry(env));
      const rows = simulate({ seed: 8, users: 120, days: 2 }).rows;
      await replayRows(kafka, serde, rows, { topic: config.topics.input, idPrefix: 'ra' });
      const p = 0;
      const messages: KafkaMessage[] = [];
      assertReadComplete(
        await readToEnd(kafka, {
          topic: config.topics.input,
          partitions: [p],
          groupId: `ahead-read-${Date.now()}`,
          timeoutMs: 60_000,
          onBatch: (_p, ms) => void messages.push(...ms),
        }),
        'the input',
      );
      const deps = { serde, limits: validationLimits(config), maxRecordBytes: config.kafka.maxRecordBytes };
      const records: PipelineRecord[] = [];
      for (const m of messages) records.push(await decodeRecord(m, deps));
      const end = BigInt(messages[messages.length - 1]?.offset ?? '0') + 1n;
      const manifest = fakeManifest();
      const params = coreParams(config, manifest);
      const processorDeps = {
        encoder: new FakeEncoder(),
        manifest,
        params,
        profilesEnabled: config.profilesEnabled,
      };

      // What the changelog would hold: every state as of record j (the checkpoint), and half of the
      // users written again later, as of record k > j (ahead of it, with that applied offset).
      const j = Math.floor(records.length * 0.4);
      const k = Math.floor(records.length * 0.7);
      const store = new StateStore();
      const live = new PartitionProcessor(store, processorDeps);
      const commit = (into: StateStore, plan: { stateWrites: Map<string, UserState | null> }): void => {
        for (const [u, st] of plan.stateWrites) {
          if (st === null) into.delete(u);
          else into.set(u, st);
        }
      };
      const writeAll = (users: readonly string[], appliedOffset: number): void => {
        for (const u of users) {
          const bytes = store.bytes(u);
          changelog.push({
            key: u,
            value: bytes ? Buffer.from(encodeEntry(bytes, BigInt(appliedOffset))) : null,
            partition: p,
          });
        }
      };
      const users = (): string[] => {
        const out: string[] = [];
        store.scan((u) => out.push(u));
        return out;
      };
      const changelog: { key: string; value: Buffer | null; partition: number }[] = [];
      commit(store, await live.process(records.slice(0, j)));
      const maxAtJ = live.maxEventTimeSeenMs;
      writeAll(users(), j);
      commit(store, await live.process(records.slice(j, k)));
      const written = users().filter((_, i) => i % 2 === 0);
      writeAll(written, k);
      changelog.push({
        key: CHECKPOINT_KEY,
        value: Buffer.from(encodeCheckpoint({ offset: BigInt(j), maxEventTimeMs: maxAtJ })),
        partition: p,
      });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic: config.topics.userStateChangelog, messages: changelog });
      await producer.disconnect();
      if (committed) await commitOffset(config, p, end);

      const once = new StateStore();
      commit(once, await new PartitionProcessor(once, processorDeps).process(records));
      const task = await openTask(config, serde, processorDeps.encoder, manifest, p);
      try {
        expect(written.length).toBeGreaterThan(10);
        if (committed) expect(BigInt(task.replayedRecords)).toBe(end - BigInt(j));
        else {
          // Nothing replayed: the live loop takes the input from the checkpoint, as it would here.
          expect([task.replayedRecords, task.nextOffset]).toEqual([0, BigInt(j)]);
          commit(task.states, await task.processor.process(records.slice(j)));
        }
        expect(task.states.size).toBe(once.size);
        const differing: string[] = [];
        once.scan((u) => {
          if (!nearlyEqual(task.states.get(u), once.get(u))) differing.push(u);
        });
        expect(differing).toEqual([]);
      } finally {
        await task.producer.disconnect();
      }
    },
    120_000,
  );
});
