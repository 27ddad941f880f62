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
      const once = await new PartitionProcessor(objectStateView(states), churnDeps()).process(records);

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
          processor = new PartitionProcessor(store, churnDeps());
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
    },
  );
});
