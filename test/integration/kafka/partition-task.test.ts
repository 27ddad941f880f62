/**
 * openPartitionTask's replay (src/kafka/partition-task.ts) on the real broker: the input after the
 * changelog checkpoint goes through the topology in chunks of at most IDRIFT_MAX_BATCH_RECORDS,
 * as the live loop's do, not one encoder call per fetched batch (up to 4 MiB of input). The soak
 * traced its RSS level per process life to the length of that replay.
 */
import type { Kafka } from 'kafkajs';
import { systemClock } from '../../../src/core/clock';
import { openPartitionTask } from '../../../src/kafka/partition-task';
import { replayRows } from '../../../src/kafka/replay-producer';
import { AvroSerde } from '../../../src/kafka/serde';
import { coreParams, validationLimits } from '../../../src/pipeline/params';
import { simulate } from '../../../src/sim/simulator';
import { CHECKPOINT_KEY, encodeCheckpoint } from '../../../src/state/checkpoint';
import { createLogger } from '../../../src/shared/logger';
import { createMetrics } from '../../../src/shared/metrics';
import { FakeEncoder, fakeManifest } from '../../support/fake-encoder';
import { createTopicsFor, harnessConfig } from '../../support/processor-harness';
import { describeWithStack, testKafka, testRegistry } from '../../support/stack';

describeWithStack('partition task replay on the real broker', (env) => {
  let kafka: Kafka;

  beforeAll(() => {
    kafka = testKafka(env);
  });

  it('replays the input after the checkpoint in chunks no larger than the live loop’s', async () => {
    const chunk = 25;
    const config = harnessConfig(env, 'replay-chunks', { IDRIFT_MAX_BATCH_RECORDS: String(chunk) });
    await createTopicsFor(kafka, config);
    const serde = new AvroSerde(testRegistry(env));
    // 1 day of 200 users: a few hundred records per partition, from far more users than a chunk.
    const rows = simulate({ seed: 7, users: 200, days: 1 }).rows;
    await replayRows(kafka, serde, rows, { topic: config.topics.input, idPrefix: 'rp' });

    const p = 0;
    const admin = kafka.admin();
    await admin.connect();
    let end: bigint;
    try {
      const offsets = await admin.fetchTopicOffsets(config.topics.input);
      end = BigInt(offsets.find((o) => o.partition === p)?.high ?? '0');
      // As after a crash: the changelog's checkpoint is at 0, the group committed everything.
      await admin.setOffsets({
        groupId: config.appId,
        topic: config.topics.input,
        partitions: [{ partition: p, offset: end.toString() }],
      });
    } finally {
      await admin.disconnect();
    }
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: config.topics.userStateChangelog,
      messages: [{ key: CHECKPOINT_KEY, value: Buffer.from(encodeCheckpoint({ offset: 0n })), partition: p }],
    });
    await producer.disconnect();

    const encoder = new FakeEncoder();
    const manifest = fakeManifest();
    const task = await openPartitionTask(
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
});
