/**
 * readToEnd on the REAL local broker: it reads every partition to the end offset taken at the
 * start, and it gives up early, with `stalled` and the positions reached, when no partition
 * advances for `stallMs` (the changelog restore then retries with a fresh consumer).
 */
import type { Admin, Kafka } from 'kafkajs';
import { readToEnd } from '../../../src/kafka/read-to-end';
import { createTestTopic, describeWithStack, testKafka, uniqueName } from '../../support/stack';

describeWithStack('readToEnd on the real broker', (env) => {
  let kafka: Kafka;
  let admin: Admin;
  let topic: string;

  beforeAll(async () => {
    kafka = testKafka(env);
    admin = kafka.admin();
    await admin.connect();
    topic = await createTestTopic(admin, 'read-to-end', 2);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: i % 2 })),
    });
    await producer.disconnect();
  });

  afterAll(async () => {
    await admin.disconnect();
  });

  it('reads both partitions to their end', async () => {
    let n = 0;
    const res = await readToEnd(kafka, {
      topic,
      groupId: uniqueName('rte'),
      timeoutMs: 60_000,
      stallMs: 20_000,
      onBatch: (_p, m) => {
        n += m.length;
      },
    });
    expect(res).toMatchObject({ unfinished: [], failure: null, stalled: false });
    expect(n).toBe(40);
  });

  it('reports a stall, with the positions reached, when a partition stops advancing', async () => {
    const res = await readToEnd(kafka, {
      topic,
      groupId: uniqueName('rte-stall'),
      timeoutMs: 60_000,
      stallMs: 1_500,
      maxBytesPerPartition: 64,
      // Partition 1 is held (as a consumer that stopped fetching would hold it) past stallMs.
      onBatch: async (p) => {
        if (p === 1) await new Promise((r) => setTimeout(r, 4_000));
      },
    });
    expect(res.stalled).toBe(true);
    expect(res.unfinished).toContain(1);
    expect(res.positions.get(1)?.end).toBe(20n);
    expect(res.positions.get(1)?.next ?? 0n).toBeLessThan(20n);
  }, 30_000);
});
