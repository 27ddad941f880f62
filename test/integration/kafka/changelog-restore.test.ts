/**
 * restorePartitions (src/kafka/changelog-restore.ts) on the real broker, with a changelog large
 * enough that kafkajs' fetch responses become pages of the store (ValuePages.adopt keeps values in
 * a response of ≥ ADOPT_MIN_BYTES uncopied): every user's last value restores byte for byte,
 * through several versions of a user in one fetch and tombstones, and the processing writes after
 * the restore (in place inside a response, or moved out of it) leave the other users' values intact.
 */
import type { Kafka } from 'kafkajs';
import { restorePartitions } from '../../../src/kafka/changelog-restore';
import { AvroSerde } from '../../../src/kafka/serde';
import { createLogger } from '../../../src/shared/logger';
import { encodeEntry } from '../../../src/state/changelog-entry';
import { CHECKPOINT_KEY, encodeCheckpoint } from '../../../src/state/checkpoint';
import { encodeState } from '../../../src/state/state-codec';
import { ADOPT_MIN_BYTES, ValuePages } from '../../../src/state/value-pages';
import { rng } from '../../../src/sim/simulator';
import { upgradeWorkloadStates } from '../../support/upgrade-workload';
import { createTestTopic, describeWithStack, testKafka, testRegistry } from '../../support/stack';

describeWithStack('changelog restore on the real broker', (env) => {
  let kafka: Kafka;

  beforeAll(() => {
    kafka = testKafka(env);
  });

  it('restores every user’s last value from fetches kept as pages, then takes writes', async () => {
    const states = [...(await upgradeWorkloadStates()).values()].map((s) => encodeState(s));
    const r = rng(5);
    const admin = kafka.admin();
    await admin.connect();
    const topic = await createTestTopic(admin, 'restore-adopt');
    await admin.disconnect();

    // 6,000 users, each written 1–3 times (about 10 MB), every 13th user's last record a tombstone;
    // first 300 other users two or three times in a row, so that values leave a response while it is
    // still being read (its live bytes then a small part of it).
    const want = new Map<string, Uint8Array | null>();
    const messages: { key: string; value: Buffer | null }[] = [];
    let offset = 0;
    for (let u = 0; u < 300; u++) {
      for (let version = 0; version < 2 + (u % 2); version++) {
        const state = states[Math.floor(r() * states.length)] as Uint8Array;
        messages.push({ key: `early-${u}`, value: Buffer.from(encodeEntry(state, BigInt(offset++))) });
        want.set(`early-${u}`, state);
      }
    }
    for (let round = 0; round < 3; round++) {
      for (let u = 0; u < 6000; u++) {
        if (round > 0 && r() < 0.5) continue;
        const userId = `u-${u}`;
        const tombstone = round > 0 && u % 13 === 0;
        const state = states[Math.floor(r() * states.length)] as Uint8Array;
        messages.push({
          key: userId,
          value: tombstone ? null : Buffer.from(encodeEntry(state, BigInt(offset++))),
        });
        want.set(userId, tombstone ? null : state);
      }
    }
    messages.push({
      key: CHECKPOINT_KEY,
      value: Buffer.from(encodeCheckpoint({ offset: 1n, maxEventTimeMs: 0 })),
    });
    const producer = kafka.producer();
    await producer.connect();
    for (let i = 0; i < messages.length; i += 1000)
      await producer.send({ topic, messages: messages.slice(i, i + 1000) });
    await producer.disconnect();

    const adopt = jest.spyOn(ValuePages.prototype, 'adopt');
    const restored = await restorePartitions(
      kafka,
      topic,
      [0],
      new AvroSerde(testRegistry(env)),
      'restore-adopt',
      createLogger('warn'),
    );
    const fromLarge = adopt.mock.calls.filter(([, src]) => src.buffer.byteLength >= ADOPT_MIN_BYTES);
    adopt.mockRestore();
    // The path under test ran: values came in fetch responses large enough to be kept.
    expect(fromLarge.length).toBeGreaterThan(1000);

    const store = restored.partitions.get(0)?.store;
    if (!store) throw new Error('partition 0 not restored');
    const check = (): string[] => {
      const wrong: string[] = [];
      for (const [u, v] of want) {
        const got = store.bytes(u);
        if (v === null ? got !== undefined : got === undefined || !Buffer.from(v).equals(got)) wrong.push(u);
      }
      return wrong;
    };
    expect(store.size).toBe([...want.values()].filter((v) => v !== null).length);
    expect(check()).toEqual([]);

    // Processing after the restore: writes that fit (in place, inside a response) and that do not
    // (moved, which empties responses under half live), releases; the rest must not change.
    let u = 0;
    for (const [userId, v] of want) {
      if (v === null || u++ % 3 !== 0) continue;
      const next = states[Math.floor(r() * states.length)] as Uint8Array;
      store.put(userId, next);
      want.set(userId, next);
    }
    for (const userId of [...want.keys()].filter((_, i) => i % 7 === 0)) {
      store.delete(userId);
      want.set(userId, null);
    }
    expect(check()).toEqual([]);
  }, 120_000);
});
