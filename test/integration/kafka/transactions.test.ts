/**
 * (c) Kafka transactions on the REAL local broker: an aborted transaction is invisible to a
 * read_committed consumer, a committed one is visible. A read_uncommitted reader proves the
 * aborted records were really written (so the test cannot pass by not sending them).
 */
import type { Admin, Kafka } from 'kafkajs';
import { createTestTopic, describeWithStack, readTopic, testKafka, uniqueName } from '../../support/stack';

describeWithStack('transactions on the real broker', (env) => {
  let kafka: Kafka;
  let admin: Admin;

  beforeAll(async () => {
    kafka = testKafka(env);
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin.disconnect();
  });

  it('hides aborted records from read_committed consumers and shows committed ones', async () => {
    const topic = await createTestTopic(admin, 'txn-visibility', 2);
    const producer = kafka.producer({
      transactionalId: uniqueName('txn-test'),
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 10_000,
    });
    await producer.connect();
    try {
      const aborted = await producer.transaction();
      await aborted.send({
        topic,
        messages: [0, 1, 2].map((i) => ({ key: `k${i}`, value: `aborted-${i}`, partition: i % 2 })),
      });
      await aborted.abort();

      const committed = await producer.transaction();
      await committed.send({
        topic,
        messages: [0, 1, 2, 3].map((i) => ({ key: `k${i}`, value: `committed-${i}`, partition: i % 2 })),
      });
      await committed.commit();
    } finally {
      await producer.disconnect();
    }

    const visible = await readTopic(kafka, topic, { count: 4, settleMs: 1_500 });
    expect(visible.map((m) => m.value?.toString()).sort()).toEqual([
      'committed-0',
      'committed-1',
      'committed-2',
      'committed-3',
    ]);

    const everything = await readTopic(kafka, topic, { count: 7, readUncommitted: true, settleMs: 500 });
    expect(everything.map((m) => m.value?.toString()).filter((v) => v?.startsWith('aborted'))).toHaveLength(
      3,
    );
  });
});
