/**
 * The transport's own ceiling for the end-to-end benchmark: a kafkajs consume → produce
 * passthrough with the SAME exactly-once settings as the processor (read_committed consumer,
 * eachBatch with 4 partitions in flight, chunks of IDRIFT_MAX_BATCH_RECORDS, one idempotent
 * transactional producer per input partition, outputs + offsets in one transaction per chunk)
 * and no work in between: every input record is copied unchanged to the output topic.
 *
 * Run as its own process (so CPU and RSS are its own):
 *   BENCH_BROKERS=… BENCH_TOPIC=… BENCH_OUT_TOPIC=… BENCH_GROUP=… [BENCH_CHUNK=2000] \
 *     node --import tsx test/bench/lib/passthrough.ts
 * SIGTERM disconnects cleanly.
 */
import type { Producer } from 'kafkajs';
import { Kafka, logLevel } from 'kafkajs';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};

async function main(): Promise<void> {
  const topic = env('BENCH_TOPIC');
  const outTopic = env('BENCH_OUT_TOPIC');
  const groupId = env('BENCH_GROUP');
  const chunkRecords = Number(process.env.BENCH_CHUNK ?? 2000);
  const kafka = new Kafka({
    clientId: 'bench-passthrough',
    brokers: env('BENCH_BROKERS').split(','),
    logLevel: logLevel.WARN,
  });
  const producers = new Map<number, Promise<Producer>>();
  const producerFor = (p: number): Promise<Producer> => {
    let made = producers.get(p);
    if (!made) {
      made = (async () => {
        const producer = kafka.producer({
          transactionalId: `${groupId}-${topic}-${p}`,
          idempotent: true,
          maxInFlightRequests: 1,
          transactionTimeout: 30_000,
        });
        await producer.connect();
        return producer;
      })();
      producers.set(p, made);
    }
    return made;
  };
  const consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    maxWaitTimeInMs: 250,
  });
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await consumer.disconnect().catch(() => undefined);
    for (const p of producers.values()) await (await p).disconnect().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 4,
    eachBatch: async (payload) => {
      const { batch } = payload;
      const producer = await producerFor(batch.partition);
      for (let i = 0; i < batch.messages.length; i += chunkRecords) {
        if (!payload.isRunning() || payload.isStale()) return;
        const chunk = batch.messages.slice(i, i + chunkRecords);
        const last = chunk[chunk.length - 1];
        if (!last) return;
        const txn = await producer.transaction();
        try {
          await txn.send({
            topic: outTopic,
            acks: -1,
            messages: chunk.map((m) => ({
              key: m.key,
              value: m.value,
              partition: batch.partition,
              timestamp: m.timestamp,
            })),
          });
          await txn.sendOffsets({
            consumerGroupId: groupId,
            topics: [
              {
                topic,
                partitions: [{ partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() }],
              },
            ],
          });
          await txn.commit();
        } catch (e) {
          await txn.abort().catch(() => undefined);
          throw e;
        }
        payload.resolveOffset(last.offset);
        await payload.heartbeat();
      }
    },
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`[passthrough] ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
