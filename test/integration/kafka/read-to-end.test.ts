/**
 * readToEnd on the REAL local broker: it reads every partition to the end offset taken at the
 * start, and it gives up early, with `stalled` and the positions reached, when no partition
 * advances for `stallMs` (the changelog restore then retries with a fresh consumer).
 */
import type { Admin, Kafka } from 'kafkajs';
import { AssignerProtocol } from 'kafkajs';
import { assertReadComplete, readToEnd } from '../../../src/kafka/read-to-end';
import { ProcessorError } from '../../../src/shared/errors';
import { createTestTopic, describeWithStack, testKafka, uniqueName } from '../../support/stack';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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

  // kafkajs wraps a callback's error as { cause: e.cause || e }: an error of ours with a cause of
  // its own was dropped from the chain, and a fatal one (a registry refusing our credentials
  // during a restore) or a bug read as transient, retried for ever.
  it('ends the read with the fatal error or the bug its callback threw, kept as thrown', async () => {
    const refused = new ProcessorError('REGISTRY_AUTH_FAILED', 'registry answered 401', {
      cause: new Error('HTTP 401'),
    });
    for (const [thrown, code] of [
      [refused, 'REGISTRY_AUTH_FAILED'],
      [new TypeError("Cannot read properties of undefined (reading 'x')"), 'INVARIANT_VIOLATED'],
    ] as const) {
      const res = await readToEnd(kafka, {
        topic,
        groupId: uniqueName('rte-fatal'),
        timeoutMs: 60_000,
        onBatch: () => {
          throw thrown;
        },
      });
      expect(res.failure).toBe(thrown);
      let error: unknown = null;
      try {
        assertReadComplete(res, 'the test topic');
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code, fatal: true });
    }
  });

  // Each partition's restore has a reader of its own; with kafkajs' default assigner every reader
  // was given, fetched and decoded the whole topic, and kept only its partition.
  it('is assigned only the partitions it reads', async () => {
    const groupId = uniqueName('rte-wanted');
    const assigned: Record<string, number[]>[] = [];
    const partitions: number[] = [];
    const res = await readToEnd(kafka, {
      topic,
      partitions: [1],
      groupId,
      timeoutMs: 60_000,
      onBatch: async (p) => {
        partitions.push(p);
        if (assigned.length > 0) return;
        const [group] = (await admin.describeGroups([groupId])).groups;
        for (const member of group?.members ?? []) {
          const decoded = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
          assigned.push(decoded?.assignment ?? {});
        }
      },
    });
    expect(res).toMatchObject({ unfinished: [], failure: null, stalled: false });
    expect(new Set(partitions)).toEqual(new Set([1]));
    expect(assigned).toEqual([{ [topic]: [1] }]);
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

  // The CI run of bc266dd: a verifier read (and chaos seed 5: a restore) never reached the end of
  // a compacted topic. The log cleaner had removed an aborted transaction's records and kept their
  // batch, empty, as the last one of its segment; kafkajs fetched that offset forever
  // (kafkajs#1072). patches/kafkajs+2.2.4.patch moves past it; this builds the same log.
  it('reads past a batch the log cleaner emptied (aborted transaction, compacted topic)', async () => {
    const compacted = uniqueName('read-to-end-cleaned');
    await admin.createTopics({
      topics: [
        {
          topic: compacted,
          numPartitions: 1,
          replicationFactor: 1,
          configEntries: [
            { name: 'cleanup.policy', value: 'compact' },
            { name: 'segment.ms', value: '400' },
            { name: 'min.cleanable.dirty.ratio', value: '0.01' },
            { name: 'min.compaction.lag.ms', value: '0' },
          ],
        },
      ],
      waitForLeaders: true,
    });
    const producer = kafka.producer({
      transactionalId: uniqueName('cleaned'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    const txn = async (keys: string[], commit: boolean): Promise<void> => {
      const t = await producer.transaction();
      await t.send({
        topic: compacted,
        messages: keys.map((k) => ({ key: k, value: `${k}-${Date.now()}` })),
      });
      if (commit) await t.commit();
      else {
        // The abort marker lands in the next segment, so the aborted batch ends its segment.
        await sleep(600);
        await t.abort();
      }
    };
    await txn(['a', 'b'], true);
    await txn(['c', 'd', 'e', 'f'], false);
    // One more record, at once, so the segment with the abort marker stays the active one: the
    // cleaner then cleans the first segment alone and keeps the aborted batch there, empty, as
    // its producer's last batch (what the crash scenario's profiles topic held at 1565..1568).
    await txn(['a'], true);
    await producer.disconnect();
    const count = async (readUncommitted: boolean): Promise<{ n: number; unfinished: number[] }> => {
      let n = 0;
      const res = await readToEnd(kafka, {
        topic: compacted,
        groupId: uniqueName('rte-cleaned'),
        timeoutMs: 15_000,
        readUncommitted,
        onBatch: (_p, m) => {
          n += m.length;
        },
      });
      return { n, unfinished: res.unfinished };
    };
    // The cleaner has run once the aborted records are gone from a read_uncommitted read (an
    // unpatched kafkajs stops at the emptied batch: unfinished, and fewer records).
    const deadline = Date.now() + 90_000;
    let uncommitted = await count(true);
    while (uncommitted.n >= 2 + 4 && Date.now() < deadline) {
      await sleep(2_000);
      uncommitted = await count(true);
    }
    expect(uncommitted.unfinished).toEqual([]);
    expect(uncommitted.n).toBe(3);
    const committed = await count(false);
    expect(committed).toEqual({ n: 3, unfinished: [] });
  }, 150_000);

  // A range read (the input replay of a restore) moves to its start with a seek, and commits
  // nothing. kafkajs keeps a seek in memory only: after a rebalance of the throw-away group (a
  // coordinator that moved, a consumer restart) the position fell back to the log's end, and the
  // first record produced there "completed" the range with the rest of it never read.
  it('reads each record of a range once, also when its group rebalances mid-read', async () => {
    const ranged = await createTestTopic(admin, 'read-to-end-rebalance', 2);
    const producer = kafka.producer();
    await producer.connect();
    // Ten records per produce call: ten per record batch, so the reader sees many fetches.
    const send = async (n: number, tag: string): Promise<void> => {
      for (let i = 0; i < n; i += 10) {
        await producer.send({
          topic: ranged,
          messages: Array.from({ length: Math.min(10, n - i) }, (_, j) => ({
            key: `k${i + j}`,
            value: `${tag}${i + j}`,
            partition: 0,
          })),
        });
      }
    };
    await send(600, 'v');
    await producer.send({ topic: ranged, messages: [{ key: 'p1', value: 'x', partition: 1 }] });
    const groupId = uniqueName('rte-rebalance');
    const seen: bigint[] = [];
    const second: { done?: Promise<void> } = {};
    const res = await readToEnd(kafka, {
      topic: ranged,
      groupId,
      timeoutMs: 120_000,
      stallMs: 30_000,
      maxBytesPerPartition: 512,
      range: { from: new Map([[0, 50n]]), until: new Map([[0, 550n]]) },
      onBatch: async (_p, messages) => {
        for (const m of messages) seen.push(BigInt(m.offset));
        // A second member of the same group (another partition) makes the group rebalance; once
        // it has left, records past the range arrive at the log's end.
        second.done ??= readToEnd(kafka, {
          topic: ranged,
          partitions: [1],
          groupId,
          timeoutMs: 60_000,
          onBatch: () => undefined,
        }).then(() => send(20, 'late'));
        await sleep(300);
      },
    });
    await second.done;
    await producer.disconnect();
    expect(res).toMatchObject({ unfinished: [], failure: null, stalled: false });
    expect(seen).toEqual(Array.from({ length: 500 }, (_, i) => BigInt(50 + i)));
  }, 180_000);
});
