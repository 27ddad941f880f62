import type { Kafka } from 'kafkajs';

/**
 * Waits until the consumer group has committed offsets at the end of every partition of
 * `topic` (the input topic is not transactional, so end = high watermark). Returns ms waited.
 */
export async function waitCaughtUp(
  kafka: Kafka,
  groupId: string,
  topic: string,
  timeoutMs: number,
): Promise<number> {
  const t0 = Date.now();
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (;;) {
      const ends = await admin.fetchTopicOffsets(topic);
      const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
      const byPartition = new Map(
        (committed[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]),
      );
      const behind = ends.filter(
        (e) => BigInt(e.high) > 0n && (byPartition.get(e.partition) ?? -1n) < BigInt(e.high),
      );
      if (behind.length === 0) return Date.now() - t0;
      if (Date.now() - t0 > timeoutMs) {
        throw new Error(
          `group ${groupId} still behind on partitions ${behind.map((b) => b.partition).join(',')} after ${timeoutMs} ms`,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await admin.disconnect();
  }
}
