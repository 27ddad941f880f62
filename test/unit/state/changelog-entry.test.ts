import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHECKPOINT_KEY, decodeCheckpoint, encodeCheckpoint } from '../../../src/state/checkpoint';
import {
  ENTRY_MAGIC,
  RestoredPartition,
  encodeEntry,
  entryAppliedOffset,
  entryState,
  isEntry,
} from '../../../src/state/changelog-entry';
import { encodeState, isBinaryState } from '../../../src/state/state-codec';
import { StateStore } from '../../../src/state/state-store';
import type { PipelineRecord } from '../../../src/pipeline/partition-processor';
import { PartitionProcessor } from '../../../src/pipeline/partition-processor';
import { EVENT_KEY_BASE, eventKey, legacyEventKey } from '../../../src/core/ids';
import { DEFAULT_PARAMS } from '../../../src/core/params';
import type { UserState } from '../../../src/core/user-state';
import { FakeEncoder, fakeManifest } from '../../support/fake-encoder';
import { TestDriver } from '../../support/test-driver';
import { upgradeWorkload, upgradeWorkloadStates } from '../../support/upgrade-workload';

const FIXTURE = join(__dirname, '..', '..', 'fixtures', 'user-state.v3.json');

describe('changelog value version 4', () => {
  it('wraps a version-3 state with its applied offset, and gives both back', async () => {
    const [[, s]] = [...(await upgradeWorkloadStates())] as [[string, Parameters<typeof encodeState>[0]]];
    const v3 = encodeState(s);
    const v4 = encodeEntry(v3, 123_456_789_012n);
    expect(v4[0]).toBe(ENTRY_MAGIC);
    expect(isEntry(v4)).toBe(true);
    expect(isBinaryState(v4)).toBe(false);
    expect(isEntry(v3)).toBe(false);
    expect(Buffer.from(entryState(v4)).equals(Buffer.from(v3))).toBe(true);
    expect(entryAppliedOffset(v4)).toBe(123_456_789_012);
    const wrongVersion = Uint8Array.from(v4);
    wrongVersion[1] = 5;
    expect(() => entryState(wrongVersion)).toThrow(/not version 4/);
  });

  it('checkpoints: version 2 carries the watermark base, version 1 still decodes, anything else is refused', () => {
    expect(decodeCheckpoint(encodeCheckpoint({ offset: 42n, maxEventTimeMs: 1.5e12 }))).toEqual({
      offset: 42n,
      maxEventTimeMs: 1.5e12,
    });
    expect(decodeCheckpoint(encodeCheckpoint({ offset: 7n }))).toEqual({ offset: 7n });
    expect(() => decodeCheckpoint(new Uint8Array([0xb6, 3, 0, 0, 0, 0, 0, 0, 0, 0]))).toThrow(/malformed/);
  });

  it('a restored partition knows which users are ahead of its checkpoint', async () => {
    const states = [...(await upgradeWorkloadStates())].slice(0, 4);
    const part = new RestoredPartition(new StateStore());
    const [a, b, c, d] = states.map(([u, s]) => [u, encodeState(s)] as const) as [
      readonly [string, Uint8Array],
      readonly [string, Uint8Array],
      readonly [string, Uint8Array],
      readonly [string, Uint8Array],
    ];
    part.state(a[0], encodeEntry(a[1], 10n));
    part.state(b[0], encodeEntry(b[1], 30n));
    part.state(c[0], c[1]); // version 3: never ahead
    part.state(d[0], encodeEntry(d[1], 40n));
    part.tombstone(d[0]);
    part.checkpointRecord(encodeCheckpoint({ offset: 20n, maxEventTimeMs: 5 }));
    expect(part.checkpoint).toEqual({ offset: 20n, maxEventTimeMs: 5 });
    expect(part.aheadOfCheckpoint()).toEqual(new Map([[b[0], 30n]]));
    expect(part.store.size).toBe(3);
    part.checkpointRecord(null);
    expect(part.aheadOfCheckpoint().size).toBe(0);
    // Offsets beyond 32 bits, read without BigInt on restore's path.
    const big = 2n ** 40n + 3n;
    part.state(a[0], encodeEntry(a[1], big));
    part.checkpointRecord(encodeCheckpoint({ offset: big - 1n, maxEventTimeMs: 5 }));
    expect(part.aheadOfCheckpoint()).toEqual(new Map([[a[0], big]]));
  });

  it("a user's last value decides, whatever slot it lands in (deleted users' slots are reused)", async () => {
    const [[, s]] = [...(await upgradeWorkloadStates())] as [[string, Parameters<typeof encodeState>[0]]];
    const v3 = encodeState(s);
    const part = new RestoredPartition(new StateStore());
    // More users than the first size of the offsets' array, half of them deleted and then replaced.
    const n = 3_000;
    for (let i = 0; i < n; i++) part.state(`u${i}`, encodeEntry(v3, BigInt(100 + i)));
    for (let i = 0; i < n; i += 2) part.tombstone(`u${i}`);
    // New users take the freed slots: as version 3 (never ahead) or behind the checkpoint.
    for (let i = 0; i < n; i += 2) part.state(`w${i}`, i % 4 === 0 ? v3 : encodeEntry(v3, 5n));
    // A user ahead, then written again as version 3: no longer ahead.
    part.state('u1', v3);
    part.checkpointRecord(encodeCheckpoint({ offset: 1_000n, maxEventTimeMs: 5 }));
    const expected = new Map<string, bigint>();
    for (let i = 3; i < n; i += 2) if (100 + i > 1_000) expected.set(`u${i}`, BigInt(100 + i));
    expect(part.aheadOfCheckpoint()).toEqual(expected);
    expect(part.store.size).toBe(n);
  });

  it("an unreadable value counts only while it is the user's latest, and drops the older state", async () => {
    const [[, s]] = [...(await upgradeWorkloadStates())] as [[string, UserState]];
    const v4 = encodeEntry(encodeState(s), 7n);
    const part = new RestoredPartition(new StateStore());
    part.state('kept', v4);
    part.state('later-value', v4);
    part.unreadable('later-value', '11', 'x');
    part.state('later-value', v4); // superseded by a readable value
    part.unreadable('later-tombstone', '12', 'y');
    part.tombstone('later-tombstone'); // superseded by a tombstone
    part.state('left', v4);
    part.unreadable('left', '20', 'newer format');
    part.unreadable('left-too', '3', 'truncated');
    expect(part.unreadableValues()).toEqual([
      { offset: '3', reason: 'truncated' },
      { offset: '20', reason: 'newer format' },
    ]);
    // The older readable state of an unreadable user is not restored: it would roll the user back.
    expect(part.store.has('left')).toBe(false);
    expect(part.store.has('later-value')).toBe(true);
    expect(part.store.get('kept')?.eventCount).toBe(s.eventCount);
  });

  it('continues a version-3 changelog (committed fixture written by commit e0e0e03) exactly as a processor that never stopped', async () => {
    const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as {
      inputRecords: number;
      records: { key: string; valueBase64: string }[];
    };
    const { before, after } = upgradeWorkload();
    expect(fixture.inputRecords).toBe(before.length);
    const never = new TestDriver();
    for (let i = 0; i < before.length; i += 100) await never.feed(before.slice(i, i + 100));
    const outputsBefore = never.outputs.length;
    for (let i = 0; i < after.length; i += 100) await never.feed(after.slice(i, i + 100));

    const part = new RestoredPartition(new StateStore());
    for (const r of fixture.records) {
      const value = Buffer.from(r.valueBase64, 'base64');
      if (r.key === CHECKPOINT_KEY) part.checkpointRecord(value);
      else part.state(r.key, value);
    }
    expect(part.store.size).toBe(40);
    expect(part.checkpoint).toEqual({ offset: BigInt(before.length) });
    expect(part.aheadOfCheckpoint().size).toBe(0);
    const processor = new PartitionProcessor(
      part.store,
      {
        encoder: new FakeEncoder(),
        manifest: fakeManifest(),
        params: DEFAULT_PARAMS,
        profilesEnabled: false,
      },
      { maxEventTimeMs: part.checkpoint?.maxEventTimeMs, ahead: part.aheadOfCheckpoint() },
    );
    const outputs = [];
    let offset = before.length;
    // Chunked differently from the uninterrupted run: the outputs must not depend on it.
    for (let i = 0; i < after.length; i += 37) {
      const records: PipelineRecord[] = after
        .slice(i, i + 37)
        .map((event) => ({ kind: 'event', offset: String(offset++), event }));
      const plan = await processor.process(records);
      outputs.push(...plan.outputs);
      for (const [u, s] of plan.stateWrites) {
        if (s === null) part.store.delete(u);
        else part.store.set(u, s);
      }
    }
    expect(outputs.length).toBeGreaterThan(0);
    expect(outputs).toEqual(never.outputs.slice(outputsBefore));
    // The fixture's dedup memories hold SHA-256 keys (legacyEventKey, written before e8e72ef); a user with
    // fewer than 32 events since still holds some. They must name the same event ids as the new keys of
    // the processor that never stopped.
    const newKeyOf = new Map(
      [...before, ...after].map((e) => [legacyEventKey(e.eventId), eventKey(e.eventId)]),
    );
    let legacyKept = 0;
    for (const [u, s] of never.states) {
      const restored = part.store.get(u) as UserState;
      legacyKept += restored.recentEventKeys.filter((k) => k < EVENT_KEY_BASE).length;
      const sameIds = restored.recentEventKeys.map((k) => (k < EVENT_KEY_BASE ? newKeyOf.get(k) : k));
      expect({ ...restored, recentEventKeys: sameIds }).toEqual(s);
    }
    expect(legacyKept).toBeGreaterThan(0);
  });
});
