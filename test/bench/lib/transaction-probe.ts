/**
 * Back-to-back transactions of one transactional producer (20 records and the input offsets each,
 * then commit), as a partition task commits its chunks; prints one JSON line with the time per
 * transaction (ms). Shows what a transaction costs on this broker, e.g. the CONCURRENT_TRANSACTIONS
 * waits of patches/README.md.
 *
 *   test/harness/with-stack.sh npx tsx test/bench/lib/transaction-probe.ts [transactions, default 200]
 */
import { Kafka, logLevel } from 'kafkajs';

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 200);
  const kafka = new Kafka({
    clientId: 'transaction-probe',
    brokers: (process.env.IDRIFT_KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  const topic = `transaction-probe-${Date.now()}`;
  await admin.createTopics({
    topics: [
      { topic, numPartitions: 1 },
      { topic: `${topic}.in`, numPartitions: 1 },
    ],
  });
  await admin.disconnect();
  const producer = kafka.producer({
    transactionalId: `${topic}.tx`,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const tx = await producer.transaction();
    await tx.send({
      topic,
      messages: Array.from({ length: 20 }, (_, k) => ({ key: `k${k}`, value: `v${i}` })),
    });
    await tx.sendOffsets({
      consumerGroupId: `${topic}.group`,
      topics: [{ topic: `${topic}.in`, partitions: [{ partition: 0, offset: String(i + 1) }] }],
    });
    await tx.commit();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  await producer.disconnect();
  ms.sort((a, b) => a - b);
  const at = (q: number): number => Math.round((ms[Math.min(n - 1, Math.floor(q * n))] as number) * 10) / 10;
  const mean = ms.reduce((a, b) => a + b, 0) / n;
  process.stdout.write(
    `${JSON.stringify({ transactions: n, meanMs: Math.round(mean * 10) / 10, p50Ms: at(0.5), p99Ms: at(0.99) })}\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`[transaction-probe] ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
