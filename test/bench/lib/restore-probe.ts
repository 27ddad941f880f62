/**
 * Restores a changelog topic the way the processor does (restorePartitions, one call per
 * partition, all partitions at once) in a process of its own, and prints one JSON line:
 * users, records, wall ms, the process's CPU over the restore, and heap/off-heap bytes per restored user after a forced GC.
 *
 *   BENCH_BROKERS=… BENCH_REGISTRY=… BENCH_TOPIC=… BENCH_PARTITIONS=4 \
 *     node --expose-gc --max-old-space-size=12288 --import tsx test/bench/lib/restore-probe.ts
 */
import { Kafka, logLevel } from 'kafkajs';
import { createLogger } from '../../../src/shared/logger';
import { restorePartitions } from '../../../src/kafka/changelog-restore';
import { createRegistry } from '../../../src/kafka/clients';
import { AvroSerde } from '../../../src/kafka/serde';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};

async function main(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const kafka = new Kafka({
    clientId: 'bench-restore',
    brokers: env('BENCH_BROKERS').split(','),
    logLevel: logLevel.WARN,
  });
  const serde = new AvroSerde(createRegistry({ url: env('BENCH_REGISTRY') }));
  const partitions = Array.from({ length: Number(env('BENCH_PARTITIONS')) }, (_, i) => i);
  const logger = createLogger('warn');
  gc?.();
  const m0 = process.memoryUsage();
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  const ru0 = process.resourceUsage();
  // What a partition task keeps of its restore (partition-task.ts): the store, the checkpoint and
  // the users ahead of it; the restore's own bookkeeping is left to the collector.
  const results = await Promise.all(
    partitions.map(async (p) => {
      const r = await restorePartitions(kafka, env('BENCH_TOPIC'), [p], serde, 'bench', logger, {
        timeoutMs: 900_000,
      });
      const part = r.partitions.get(p);
      return {
        records: r.records,
        store: part?.store,
        checkpoint: part?.checkpoint,
        ahead: part?.aheadOfCheckpoint(),
      };
    }),
  );
  const wallMs = Date.now() - t0;
  // All threads of this process over the restore (main, collector and libuv threads), ms.
  const cpu = process.cpuUsage(cpu0);
  const ru = process.resourceUsage();
  // Let the fetch buffers kafkajs held go: external memory is released after the collection
  // that frees their owners, so collect a few times with a pause in between before measuring.
  for (let i = 0; i < 4; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 250));
  }
  const m1 = process.memoryUsage();
  const users = results.reduce((n, r) => n + (r.store?.size ?? 0), 0);
  const records = results.reduce((n, r) => n + r.records, 0);
  const heap = m1.heapUsed - m0.heapUsed;
  // external already includes arrayBuffers (Node's process.memoryUsage); adding both counted it twice.
  const offHeap = m1.external - m0.external;
  process.stdout.write(
    `${JSON.stringify({
      users,
      records,
      startedAtMs: t0,
      wallMs,
      usersPerSec: Math.round(users / (wallMs / 1000)),
      cpuUserMs: Math.round(cpu.user / 1000),
      cpuSystemMs: Math.round(cpu.system / 1000),
      // What the system time went to: page faults and context switches over the restore.
      minorFaults: ru.minorPageFault - ru0.minorPageFault,
      majorFaults: ru.majorPageFault - ru0.majorPageFault,
      voluntarySwitches: ru.voluntaryContextSwitches - ru0.voluntaryContextSwitches,
      involuntarySwitches: ru.involuntaryContextSwitches - ru0.involuntaryContextSwitches,
      heapBytesPerUser: Math.round(heap / users),
      offHeapBytesPerUser: Math.round(offHeap / users),
      bytesPerUser: Math.round((heap + offHeap) / users),
      rssMb: Math.round(m1.rss / 1e6),
      gcForced: gc !== undefined,
    })}\n`,
  );
  // Keep the states alive until measured.
  if (results.length < 0) process.stdout.write(String(results.length));
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stderr.write(`[restore-probe] ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
