/** Reads the service's output topics (read_committed) and decodes them: for `tail`, `demo` and tests. */
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { ChurnRisk, InterestMigration, InterestProfile } from '../kafka/avro-types.gen';
import { ChurnRiskSchema, InterestMigrationSchema, InterestProfileSchema } from '../kafka/avro-types.gen';
import type { AvroSerde } from '../kafka/serde';
import { readerType } from '../kafka/serde';

export const migrationReader = readerType<InterestMigration>(InterestMigrationSchema);
export const churnReader = readerType<ChurnRisk>(ChurnRiskSchema);
export const profileReader = readerType<InterestProfile>(InterestProfileSchema);

export interface TopicSnapshot {
  readonly messages: KafkaMessage[];
}

/** A record read back, with the partition it came from. */
export type ReadMessage = KafkaMessage & { readonly partition: number };

/** Reads every committed record of `topic` up to its end offsets at call time. */
export async function readCommitted(
  kafka: Kafka,
  topic: string,
  groupPrefix: string,
  timeoutMs = 60_000,
): Promise<ReadMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
  const pending = new Set([...ends.entries()].filter(([, e]) => e > 0n).map(([p]) => p));
  const out: ReadMessage[] = [];
  if (pending.size === 0) return out;
  const consumer = kafka.consumer({
    groupId: `${groupPrefix}.${Date.now()}.${Math.random()}`,
    readUncommitted: false,
    maxWaitTimeInMs: 100,
  });
  let done: () => void = () => undefined;
  const finished = new Promise<void>((r) => (done = r));
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const end = ends.get(payload.partition);
    if (
      end !== undefined &&
      BigInt(payload.lastOffset) + 1n >= end &&
      pending.delete(payload.partition) &&
      pending.size === 0
    )
      done();
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        out.push(...batch.messages.map((m) => ({ ...m, partition: batch.partition })));
        return Promise.resolve();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([finished, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  } finally {
    await consumer.disconnect();
  }
  return out;
}

export async function decodeAll<T>(
  serde: AvroSerde,
  messages: KafkaMessage[],
  reader: ReturnType<typeof readerType<T>>,
): Promise<T[]> {
  const out: T[] = [];
  for (const m of messages) if (m.value) out.push(await serde.decode(m.value, reader));
  return out;
}
