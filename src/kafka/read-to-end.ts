/**
 * Reads partitions of a topic from the beginning, read_committed, up to the end offsets taken
 * when the call starts, with a throw-away consumer group. Used to restore the changelog and to
 * read outputs back (tools and tests).
 *
 * Completion is "position ≥ end offset", observed through kafkajs' END_BATCH_PROCESS events,
 * which kafkajs also emits for batches holding only transaction markers: markers occupy offsets,
 * so waiting for a record at end − 1 could wait forever.
 */
import type { Kafka, KafkaMessage } from 'kafkajs';

export interface ReadToEndOptions {
  readonly topic: string;
  /** Partitions to read; all when omitted. */
  readonly partitions?: readonly number[];
  readonly groupId: string;
  readonly timeoutMs: number;
  /** Called per fetched batch, in offset order per partition. */
  readonly onBatch: (partition: number, messages: KafkaMessage[]) => Promise<void> | void;
  readonly maxBytesPerPartition?: number;
  /** Also return records of aborted and open transactions (fault tests count them); default false. */
  readonly readUncommitted?: boolean;
}

export interface ReadToEndResult {
  /** Partitions that did not reach their end offset before the timeout (empty = complete). */
  readonly unfinished: number[];
  /** Set when the consumer crashed. */
  readonly failure: unknown;
}

export async function readToEnd(kafka: Kafka, o: ReadToEndOptions): Promise<ReadToEndResult> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<number, bigint>();
  try {
    for (const off of await admin.fetchTopicOffsets(o.topic)) {
      const wanted = !o.partitions || o.partitions.includes(off.partition);
      if (wanted && BigInt(off.high) > BigInt(off.low)) ends.set(off.partition, BigInt(off.high));
    }
  } finally {
    await admin.disconnect();
  }
  const pending = new Set(ends.keys());
  if (pending.size === 0) return { unfinished: [], failure: null };
  const consumer = kafka.consumer({
    groupId: o.groupId,
    readUncommitted: o.readUncommitted ?? false,
    maxWaitTimeInMs: 100,
    maxBytesPerPartition: o.maxBytesPerPartition ?? 4 * 1024 * 1024,
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
    await consumer.subscribe({ topic: o.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (ends.has(batch.partition)) await o.onBatch(batch.partition, batch.messages);
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, o.timeoutMs)));
    await Promise.race([finished, timedOut]);
    clearTimeout(timer);
  } finally {
    await consumer.disconnect();
  }
  return { unfinished: [...pending].sort((a, b) => a - b), failure };
}
