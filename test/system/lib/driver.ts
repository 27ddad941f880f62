/**
 * Produces a workload into the input topic at a fixed rate with an idempotent producer that
 * rides out broker restarts (long retries). Records keep their order per key.
 */
import type { Kafka } from 'kafkajs';
import type { InputRecord } from './workload';

export interface DriverStats {
  sent: number;
  readonly startedAtMs: number;
  finishedAtMs: number;
}

export async function drive(
  kafka: Kafka,
  topic: string,
  records: readonly InputRecord[],
  ratePerSec: number,
  stats: DriverStats = { sent: 0, startedAtMs: Date.now(), finishedAtMs: 0 },
): Promise<DriverStats> {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    retry: { retries: 60, initialRetryTime: 300, maxRetryTime: 3_000 },
  });
  await producer.connect();
  const batch = Math.max(50, Math.floor(ratePerSec / 10));
  const t0 = Date.now();
  try {
    for (let i = 0; i < records.length; i += batch) {
      const chunk = records.slice(i, i + batch);
      await producer.send({
        topic,
        acks: -1,
        messages: chunk.map((r) => ({ key: r.key, value: r.value, headers: r.headers })),
      });
      stats.sent += chunk.length;
      const due = t0 + ((i + chunk.length) / ratePerSec) * 1000;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  } finally {
    await producer.disconnect();
  }
  stats.finishedAtMs = Date.now();
  return stats;
}
