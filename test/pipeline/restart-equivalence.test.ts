/**
 * The argument behind restore + replay (src/kafka/partition-task.ts): the topology's outputs and
 * final states do not depend on where the input is cut into chunks, nor on restarts between
 * chunks from the states as the changelog holds them (version-3 bytes, decoded again; timers,
 * eviction checks and the watermark rebuilt from them). A simulated clickstream goes through
 * once in one call, and once in random chunks with random restarts; both must agree exactly.
 */
import type { ChurnHazardWeights } from '../../src/core/churn-hazard';
import { DEFAULT_PARAMS } from '../../src/core/params';
import { loadChurnHazard } from '../../src/model/learned-weights';
import type { UserState } from '../../src/core/user-state';
import { validateEvent } from '../../src/core/validate';
import { eventIdNamer } from '../../src/io/event-ids';
import { toClickstreamEvent } from '../../src/kafka/replay-producer';
import type { PipelineRecord, PlannedOutput } from '../../src/pipeline/partition-processor';
import { PartitionProcessor } from '../../src/pipeline/partition-processor';
import { rng, simulate } from '../../src/sim/simulator';
import { encodeState } from '../../src/state/state-codec';
import type { Checkpoint } from '../../src/state/checkpoint';
import { CHECKPOINT_KEY, encodeCheckpoint } from '../../src/state/checkpoint';
import { RestoredPartition } from '../../src/state/changelog-entry';
import { takeChangelogWrites } from '../../src/state/changelog-writes';
import { DirtyUsers } from '../../src/state/dirty-users';
import { StateStore } from '../../src/state/state-store';
import { objectStateView } from '../../src/state/state-view';
import { FakeEncoder, fakeManifest } from '../support/fake-encoder';
import { nearlyEqual } from '../system/lib/verify';

function input(seed: number): PipelineRecord[] {
  const sim = simulate({ seed, users: 60, days: 12, userPrefix: `r${seed}` });
  const id = eventIdNamer(`r${seed}`);
  return sim.rows.map((row, i) => {
    const raw = toClickstreamEvent(row, id(row));
    const v = validateEvent(raw, row.userId, Number(raw.eventTimeMs));
    if (!v.ok) throw new Error(v.message);
    return { kind: 'event', offset: String(i), event: v.event } as const;
  });
}

// The learned churn hazard re-scores idle users on a ladder of timers: its timers must be rebuilt
// from restored states as well as the inactivity head's.
const HAZARD = loadChurnHazard('onnx/artifacts/churn-hazard.json');

const deps = (hazard: ChurnHazardWeights | null) => () => ({
  encoder: new FakeEncoder(),
  manifest: fakeManifest(),
  params: {
    ...DEFAULT_PARAMS,
    stateTtlMs: 5 * 86_400_000,
    churn: {
      ...DEFAULT_PARAMS.churn,
      hazard,
      levelThresholds: hazard?.levelThresholds ?? DEFAULT_PARAMS.churn.levelThresholds,
    },
  },
  profilesEnabled: true,
});

const byKey = (outputs: readonly PlannedOutput[]): Map<string, unknown[]> => {
  const m = new Map<string, unknown[]>();
  for (const o of outputs) {
    const k = `${o.kind}:${o.key}`;
    m.set(k, [...(m.get(k) ?? []), 'value' in o ? o.value : null]);
  }
  return m;
};

describe('restarts and chunking do not change what the topology computes', () => {
  it.each([
    [1, 'inactivity head', null],
    [2, 'inactivity head', null],
    [3, 'inactivity head', null],
    [4, 'learned hazard', HAZARD],
    [5, 'learned hazard', HAZARD],
  ] as const)(
    'seed %i, churn by the %s: random chunks, random restarts from version-3 states',
    async (seed, _name, hazard) => {
      const churnDeps = deps(hazard);
      const base = input(seed);
      // Every 50th event twice (a producer retry): the dedup memory must survive restarts too.
      const records = base.flatMap((r, i) => (i % 50 === 0 ? [r, { ...r, offset: `${r.offset}b` }] : [r]));
      const states = new Map<string, UserState>();
      const neverStopped = new PartitionProcessor(objectStateView(states), churnDeps());
      const once = await neverStopped.process(records);

      const r = rng(seed * 7919);
      const store = new StateStore();
      let processor = new PartitionProcessor(store, churnDeps());
      const outputs: PlannedOutput[] = [];
      let restarts = 0;
      for (let i = 0; i < records.length;) {
        const n = 1 + Math.floor(r() * 400);
        const plan = await processor.process(records.slice(i, i + n));
        outputs.push(...plan.outputs);
        for (const [u, s] of plan.stateWrites) {
          if (s === null) store.delete(u);
          else store.put(u, encodeState(s));
        }
        i += n;
        if (r() < 0.5) {
          // Resuming at the watermark so far, as a changelog checkpoint records it.
          processor = new PartitionProcessor(store, churnDeps(), {
            maxEventTimeMs: processor.maxEventTimeSeenMs,
          });
          restarts++;
        }
      }
      expect(restarts).toBeGreaterThan(10);
      expect(once.counts.duplicates).toBeGreaterThan(0);
      expect(once.counts.evicted).toBeGreaterThan(0);
      expect(once.outputs.filter((o) => o.kind === 'churn').length).toBeGreaterThan(0);
      const want = byKey(once.outputs);
      const got = byKey(outputs);
      expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
      const differing = [...want].filter(([k, v]) => !nearlyEqual(v, got.get(k)));
      expect(differing.map(([k]) => k)).toEqual([]);
      const finalStates = new Map<string, UserState | null>();
      for (const [u, s] of once.stateWrites) finalStates.set(u, s);
      for (const [u, s] of finalStates) {
        if (s === null) expect(store.has(u)).toBe(false);
        else expect(nearlyEqual(store.get(u), s)).toBe(true);
      }
      const timerDiffers = [...finalStates.keys()].filter(
        (u) => processor.nextTimerMs(u) !== neverStopped.nextTimerMs(u),
      );
      expect(timerDiffers).toEqual([]);
    },
  );
});

/**
 * The shell's changelog as partition-task.ts and stream-processor.ts write and read it, without
 * Kafka: dirty states written a few per transaction, oldest change first, as version-4 values with
 * their applied offset, a checkpoint at the oldest unwritten change; a crash restores from that
 * log alone (RestoredPartition) and replays the input from the checkpoint to the committed offset,
 * skipping each user's records below its applied offset. A re-score that raises nothing leaves
 * the state as it was, so a state's own timer may be behind: the timers in force are compared
 * too.
 */
describe('incremental changelog writes: a restore plus replay equals a processor that never stopped', () => {
  it.each([
    [11, null],
    [12, null],
    [13, HAZARD],
    [14, HAZARD],
  ] as const)('seed %i', async (seed, hazard) => {
    const churnDeps = deps(hazard);
    const base = input(seed);
    // Re-sent events (a producer retry) and numeric offsets throughout, as on a partition.
    const records: PipelineRecord[] = base
      .flatMap((r, i) => (i % 50 === 0 ? [r, r] : [r]))
      .map((r, i) => ({ ...r, offset: String(i) }));
    const neverStopped = new PartitionProcessor(objectStateView(new Map()), churnDeps());
    const once = await neverStopped.process(records);

    const r = rng(seed * 104729);
    const log: { key: string; value: Uint8Array | null }[] = [];
    let store = new StateStore();
    let processor = new PartitionProcessor(store, churnDeps());
    let dirty = new DirtyUsers();
    let hasCheckpoint = false;
    const outputs: PlannedOutput[] = [];
    let wall = 0;
    let crashes = 0;
    let skippedUsers = 0;
    let replayed = 0;
    let resumedBehind = 0;
    for (let i = 0; i < records.length;) {
      const n = 1 + Math.floor(r() * 300);
      const startMax = processor.maxEventTimeSeenMs;
      const plan = await processor.process(records.slice(i, i + n));
      const end = BigInt(Math.min(records.length, i + n));
      wall += 1 + Math.floor(r() * 3);
      for (const u of plan.stateWrites.keys())
        dirty.mark(u, { offset: BigInt(i), maxEventTimeMs: startMax }, wall);
      const due = dirty.due({
        changedBefore: wall - 6,
        offsetBelow: end - 3000n,
        max: 1 + Math.floor(r() * 40),
      });
      const written = takeChangelogWrites(
        dirty,
        due,
        plan.stateWrites,
        (u) => store.bytes(u),
        { offset: end, maxEventTimeMs: processor.maxEventTimeSeenMs },
        !hasCheckpoint,
      );
      for (const [key, value] of written.changelog) log.push({ key, value });
      if (written.checkpoint) {
        log.push({ key: CHECKPOINT_KEY, value: encodeCheckpoint(written.checkpoint) });
        hasCheckpoint = true;
      }
      for (const [u, s] of plan.stateWrites) {
        if (s === null) store.delete(u);
        else store.set(u, s);
      }
      outputs.push(...plan.outputs);
      i += n;
      if (r() < 0.3 && i < records.length) {
        crashes++;
        const part = new RestoredPartition(new StateStore());
        for (const m of log) {
          if (m.key === CHECKPOINT_KEY) part.checkpointRecord(m.value);
          else if (m.value) part.state(m.key, m.value);
          else part.tombstone(m.key);
        }
        const cp = part.checkpoint as Checkpoint;
        const ahead = part.aheadOfCheckpoint();
        skippedUsers += ahead.size;
        processor = new PartitionProcessor(part.store, churnDeps(), {
          maxEventTimeMs: cp.maxEventTimeMs,
          ahead,
        });
        part.store.scan((u, t) => {
          if (t.nextTimerTimeMs > 0 && processor.nextTimerMs(u) !== t.nextTimerTimeMs) resumedBehind++;
        });
        const replay = await processor.process(records.slice(Number(cp.offset), i));
        replayed += i - Number(cp.offset);
        processor.endReplay();
        dirty = new DirtyUsers();
        for (const [u, s] of replay.stateWrites) {
          if (s === null) part.store.delete(u);
          else part.store.set(u, s);
          dirty.mark(
            u,
            { offset: cp.offset, maxEventTimeMs: cp.maxEventTimeMs ?? 0 },
            Number.NEGATIVE_INFINITY,
          );
        }
        store = part.store;
      }
    }
    expect(crashes).toBeGreaterThan(5);
    expect(skippedUsers).toBeGreaterThan(10);
    expect(replayed).toBeGreaterThan(1000);
    expect(once.counts.duplicates).toBeGreaterThan(0);
    expect(once.counts.evicted).toBeGreaterThan(0);
    // The ladder re-scores idle users without raising their level: restored timers that had to
    // be moved past the resume watermark.
    if (hazard) expect(resumedBehind).toBeGreaterThan(10);
    const want = byKey(once.outputs);
    const got = byKey(outputs);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    const differing = [...want].filter(([k, v]) => !nearlyEqual(v, got.get(k)));
    expect(differing.map(([k]) => k)).toEqual([]);
    const stateDiffers: string[] = [];
    const timerDiffers: string[] = [];
    for (const [u, s] of once.stateWrites) {
      if (s === null) {
        if (store.has(u)) stateDiffers.push(u);
        continue;
      }
      if (!nearlyEqual(store.get(u), s)) stateDiffers.push(u);
      if (processor.nextTimerMs(u) !== neverStopped.nextTimerMs(u)) timerDiffers.push(u);
    }
    expect(stateDiffers).toEqual([]);
    expect(timerDiffers).toEqual([]);
  });
});
