/**
 * Back-to-back transactions of one transactional producer (20 records and the input offsets each,
 * then commit), as a partition task commits its chunks; prints one JSON line with the time per
 * transaction (ms), the probe's CPU per transaction (ms, user + system, this process) and, per
 * Kafka API, the requests per transaction and their mean duration (kafkajs' request events).
 * Shows what a transaction costs on this broker and client, e.g. the CONCURRENT_TRANSACTIONS
 * waits of patches/README.md (AddPartitionsToTxn more than once per transaction) or the
 * FindCoordinator lookup kafkajs makes before each coordinator request. The first 20 transactions
 * warm up and are not counted.
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
  const requests = new Map<string, { count: number; ms: number }>();
  let counting = false;
  producer.on(producer.events.REQUEST, ({ payload }) => {
    if (!counting) return;
    const r = requests.get(payload.apiName) ?? { count: 0, ms: 0 };
    r.count++;
    r.ms += payload.duration;
    requests.set(payload.apiName, r);
  });
  const ms: number[] = [];
  const warmUp = 20;
  let cpu0 = process.cpuUsage();
  for (let i = 0; i < n + warmUp; i++) {
    if (i === warmUp) {
      counting = true;
      ms.length = 0;
      cpu0 = process.cpuUsage();
    }
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
  const cpu = process.cpuUsage(cpu0);
  await producer.disconnect();
  ms.sort((a, b) => a - b);
  const at = (q: number): number => Math.round((ms[Math.min(n - 1, Math.floor(q * n))] as number) * 10) / 10;
  const mean = ms.reduce((a, b) => a + b, 0) / n;
  process.stdout.write(
    `${JSON.stringify({
      transactions: n,
      meanMs: Math.round(mean * 10) / 10,
      p50Ms: at(0.5),
      p99Ms: at(0.99),
      cpuMsPerTransaction: Math.round((cpu.user + cpu.system) / 100 / n) / 10,
      requestsPerTransaction: Object.fromEntries(
        [...requests].map(([api, r]) => [
          api,
          { count: Math.round((r.count / n) * 100) / 100, meanMs: Math.round((r.ms / r.count) * 100) / 100 },
        ]),
      ),
    })}\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`[transaction-probe] ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
