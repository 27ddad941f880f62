/**
 * The group's committed input offsets: how integration tests, system tests and benchmarks see
 * processing move (offsets commit in the outputs' transaction, so this is committed progress).
 */
import type { Kafka } from 'kafkajs';

/** The group's committed offset per partition of `topic` (-1 = none committed). */
export async function committedOffsets(
  kafka: Kafka,
  groupId: string,
  topic: string,
): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((offsets[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

export async function committedTotal(kafka: Kafka, groupId: string, topic: string): Promise<number> {
  let n = 0;
  for (const o of (await committedOffsets(kafka, groupId, topic)).values()) n += Math.max(0, Number(o));
  return n;
}

/**
 * Waits until the group has committed more than `above` records in total; returns the ms it
 * took, or throws after `timeoutMs`. Polls every `pollMs`; a failed poll (the broker may be
 * restarting) counts as no progress.
 */
export async function waitProgress(
  kafka: Kafka,
  groupId: string,
  topic: string,
  above: number,
  timeoutMs: number,
  pollMs = 200,
): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    let total = -1;
    try {
      total = await committedTotal(kafka, groupId, topic);
    } catch {
      // no answer yet: not progress
    }
    if (total > above) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`no progress past ${above} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
