/**
 * Restores user states of some partitions from the compacted changelog `<appId>.user-state`.
 *
 * Contract: the caller fences the partitions' transactional producers FIRST (so no zombie
 * transaction is open and the last stable offset equals the high watermark), then restores.
 * Reads read_committed from the beginning with a throw-away consumer group, until each wanted
 * partition's position reaches the end offset taken at the start. Transaction markers occupy
 * offsets, so "done" is position ≥ end offset, not "saw a record at end − 1".
 */
import type { Kafka } from 'kafkajs';
import { ProcessorError } from '../app/errors';
import type { Logger } from '../app/logger';
import type { UserState } from '../core/user-state';
import type { UserState as AvroUserState } from './avro-types.gen';
import { UserStateSchema } from './avro-types.gen';
import type { AvroSerde } from './serde';
import { readerType } from './serde';
import { fromAvro } from './state-codec';

const stateReader = readerType<AvroUserState>(UserStateSchema);

export interface RestoreResult {
  readonly states: Map<number, Map<string, UserState>>;
  readonly records: number;
  readonly durationMs: number;
}

export async function restorePartitions(
  kafka: Kafka,
  topic: string,
  partitions: readonly number[],
  serde: AvroSerde,
  groupPrefix: string,
  logger: Logger,
  timeoutMs = 300_000,
): Promise<RestoreResult> {
  const t0 = Date.now();
  const states = new Map<number, Map<string, UserState>>(partitions.map((p) => [p, new Map()]));
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    ends = new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
    for (const o of offsets) {
      if (states.has(o.partition) && BigInt(o.high) <= BigInt(o.low)) ends.set(o.partition, -1n);
    }
  } finally {
    await admin.disconnect();
  }
  const pending = new Set(partitions.filter((p) => (ends.get(p) ?? -1n) > 0n));
  let records = 0;
  if (pending.size > 0) {
    const consumer = kafka.consumer({
      groupId: `${groupPrefix}.restore.${process.pid}.${Date.now()}`,
      readUncommitted: false,
      maxWaitTimeInMs: 100,
      maxBytesPerPartition: 4 * 1024 * 1024,
    });
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const end = ends.get(payload.partition);
      if (end !== undefined && BigInt(payload.lastOffset) + 1n >= end && pending.delete(payload.partition)) {
        if (pending.size === 0) done();
      }
    });
    let failure: unknown = null;
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      failure = payload.error;
      done();
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const map = states.get(batch.partition);
          if (!map) return;
          for (const m of batch.messages) {
            const userId = m.key?.toString() ?? '';
            if (m.value === null) map.delete(userId);
            else map.set(userId, fromAvro(await serde.decode(m.value, stateReader)));
            records++;
          }
        },
      });
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([finished, timedOut]);
      clearTimeout(timer);
    } finally {
      await consumer.disconnect();
    }
    if (failure)
      throw new ProcessorError('KAFKA_TRANSIENT', 'changelog restore consumer crashed', { cause: failure });
    if (pending.size > 0) {
      throw new ProcessorError(
        'KAFKA_TRANSIENT',
        `changelog restore of partitions ${[...pending].join(',')} timed out`,
      );
    }
  }
  const durationMs = Date.now() - t0;
  logger.child('restore').info('restored partitions', {
    partitions: [...partitions],
    records,
    users: [...states.values()].reduce((n, m) => n + m.size, 0),
    durationMs,
  });
  return { states, records, durationMs };
}
