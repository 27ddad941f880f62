import { windowLength, windowOf } from '../../../src/core/event-window';
import { histogramOf } from '../../../src/core/decayed-histogram';
import { newUserState } from '../../../src/core/user-state';
import type { UserState } from '../../../src/core/user-state';
import {
  STATE_MAGIC,
  decodeState,
  encodeState,
  isBinaryState,
  stateTimes,
} from '../../../src/state/state-codec';
import { StateStore } from '../../../src/state/state-store';
import { TestDriver, ev, T0 } from '../../support/test-driver';
import { upgradeWorkloadStates } from '../../support/upgrade-workload';

describe('version-3 state codec', () => {
  it('round-trips every state of a real workload exactly, and re-encodes to the same bytes', async () => {
    const states = await upgradeWorkloadStates();
    let withMigration = 0;
    let withAlert = 0;
    for (const [u, s] of states) {
      const bytes = encodeState(s);
      const back = decodeState(u, bytes);
      expect(back).toEqual(s);
      expect(Buffer.from(encodeState(back)).equals(Buffer.from(bytes))).toBe(true);
      if (s.lastMigration) withMigration++;
      if (s.churn.openAlertId !== null) withAlert++;
    }
    // The workload exercises the optional parts too.
    expect(withMigration).toBeGreaterThan(0);
    expect(withAlert).toBeGreaterThan(0);
  });

  it('round-trips the empty state (no hidden state, no embeddings, nothing in the window)', () => {
    const s = newUserState('u', 'model-1');
    expect(decodeState('u', encodeState(s))).toEqual(s);
  });

  it('keeps doubles exact, non-ASCII category ids, and window times far apart', () => {
    const s: UserState = {
      ...newUserState('u', 'm'),
      lastEventTimeMs: T0 + 400 * 86_400_000,
      window: windowOf([
        { categoryId: 'électro-ménager', kind: 'cart', eventTimeMs: T0 },
        { categoryId: '2053013555631882655', kind: 'purchase', eventTimeMs: T0 + 400 * 86_400_000 },
      ]),
      shortHorizon: histogramOf(T0, [['électro-ménager', 0.1 + 0.2]]),
      churn: {
        ...newUserState('u', 'm').churn,
        inactivityProbability: Math.PI / 7,
        openAlertId: 'a'.repeat(200),
      },
      recentEventKeys: [2 ** 52 - 1, 0, 12345],
    };
    expect(decodeState('u', encodeState(s))).toEqual(s);
  });

  it('reads the restore fields from the fixed header without decoding', () => {
    const s: UserState = {
      ...newUserState('u', 'm'),
      lastEventTimeMs: T0 + 5,
      churn: { ...newUserState('u', 'm').churn, nextTimerTimeMs: T0 + 99 },
    };
    expect(stateTimes(encodeState(s))).toEqual({ lastEventTimeMs: T0 + 5, nextTimerTimeMs: T0 + 99 });
  });

  // Saturated with the fake encoder (8-float vectors, 96 B; the real one adds 416 B): header 136,
  // histogram weights 48 × 8, dedup keys 32 × 8, window 32 × ~5, category table ~56 × 4.
  it('is small: a saturated state (full window and dedup memory, 80 categories seen) under 1,350 B', async () => {
    const d = new TestDriver();
    const events = Array.from({ length: 3000 }, (_, i) =>
      ev('heavy', `c${i % 80}`, T0 + i * 60_000, 'view', `event-id-${i}`),
    );
    await d.feedInBatches(events, 500);
    const s = d.states.get('heavy') as UserState;
    expect(windowLength(s.window)).toBe(d.params.windowEvents);
    expect(s.recentEventKeys).toHaveLength(d.params.dedupIds);
    expect(encodeState(s).length).toBeLessThan(1350);
  });

  it('refuses values that are not version 3: Avro framing, another version, truncation', () => {
    const good = encodeState(newUserState('u', 'm'));
    expect(isBinaryState(good)).toBe(true);
    expect(good[0]).toBe(STATE_MAGIC);
    const avroFramed = Uint8Array.from([0, 0, 0, 0, 7, ...good.subarray(5)]);
    expect(isBinaryState(avroFramed)).toBe(false);
    expect(() => decodeState('u', avroFramed)).toThrow(/not version 3/);
    const v9 = Uint8Array.from(good);
    v9[1] = 9;
    expect(() => stateTimes(v9)).toThrow(/not version 3/);
    expect(() => decodeState('u', good.subarray(0, good.length - 1))).toThrow(/truncated/);
  });
});

describe('StateStore', () => {
  it('keeps the committed values, decodes on get, scans the restore fields, and refuses foreign bytes', async () => {
    const states = await upgradeWorkloadStates();
    const store = new StateStore();
    for (const [u, s] of states) store.set(u, s);
    expect(store.size).toBe(states.size);
    for (const [u, s] of states) expect(store.get(u)).toEqual(s);
    const seen = new Map<string, number>();
    store.scan((u, t) => seen.set(u, t.nextTimerTimeMs));
    expect(seen).toEqual(new Map([...states].map(([u, s]) => [u, s.churn.nextTimerTimeMs])));
    store.delete('upgrade-u0');
    expect(store.get('upgrade-u0')).toBeUndefined();
    expect(() => store.put('x', Uint8Array.from([0, 1, 2]))).toThrow();
    expect(store.valueBytes() / store.size).toBeLessThan(1350);
  });
});
