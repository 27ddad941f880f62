import { EMPTY_WINDOW, windowLength } from '../../../src/core/event-window';
import { EMPTY_HISTOGRAM } from '../../../src/core/decayed-histogram';
import type { UserState } from '../../../src/core/user-state';
import type { CacheMember } from '../../../src/state/state-cache-budget';
import { StateCacheBudget, decodedStateBytes } from '../../../src/state/state-cache-budget';
import { encodeState } from '../../../src/state/state-codec';
import { StateStore } from '../../../src/state/state-store';
import { upgradeWorkloadStates } from '../../support/upgrade-workload';

const same = (a: Uint8Array | undefined, s: UserState): boolean =>
  a !== undefined && Buffer.from(a).equals(Buffer.from(encodeState(s)));

describe('decodedStateBytes', () => {
  it('grows with the window and the histograms, from the fixed part', async () => {
    const s = [...(await upgradeWorkloadStates()).values()][0] as UserState;
    const empty = EMPTY_HISTOGRAM;
    const bare = { ...s, window: EMPTY_WINDOW, shortHorizon: empty, longHorizon: empty };
    expect(decodedStateBytes(bare)).toBe(2500);
    expect(decodedStateBytes({ ...bare, window: s.window })).toBe(2500 + 30 * windowLength(s.window));
    expect(decodedStateBytes(s)).toBeGreaterThan(decodedStateBytes({ ...bare, window: s.window }));
  });
});

describe('StateCacheBudget', () => {
  it('keeps the stores that share it within its bytes, and every state current', async () => {
    const states = [...(await upgradeWorkloadStates())];
    const one = decodedStateBytes((states[0] as [string, UserState])[1]);
    const budget = new StateCacheBudget(one * 8);
    const a = new StateStore({ budget });
    const b = new StateStore({ budget });
    states.forEach(([u, s], i) => {
      (i % 2 === 0 ? a : b).set(u, s);
      expect(budget.usedBytes).toBeLessThanOrEqual(budget.maxBytes);
      expect(budget.usedBytes).toBe(a.cachedBytes + b.cachedBytes);
    });
    expect(a.liveSize + b.liveSize).toBeLessThan(states.length);
    expect(a.liveSize).toBeGreaterThan(0);
    expect(b.liveSize).toBeGreaterThan(0);
    states.forEach(([u, s], i) => {
      const store = i % 2 === 0 ? a : b;
      expect(store.get(u)).toEqual(s);
      expect(same(store.bytes(u), s)).toBe(true);
    });
  });

  it('takes from the store that holds the most, so a later busy store is not starved', async () => {
    const states = [...(await upgradeWorkloadStates())];
    const budget = new StateCacheBudget(
      states.slice(0, 10).reduce((n, [, s]) => n + decodedStateBytes(s), 0),
    );
    const idle = new StateStore({ budget });
    for (const [u, s] of states.slice(0, 10)) idle.set(u, s);
    expect(idle.liveSize).toBe(10);
    const busy = new StateStore({ budget });
    for (const [u, s] of states.slice(10, 30)) busy.set(u, s);
    expect(busy.liveSize).toBeGreaterThanOrEqual(4);
    expect(Math.abs(busy.cachedBytes - idle.cachedBytes)).toBeLessThan(
      2 * Math.max(...states.map(([, s]) => decodedStateBytes(s))),
    );
  });

  it('a closed store gives its bytes back and still serves every current state', async () => {
    const states = [...(await upgradeWorkloadStates())];
    const budget = new StateCacheBudget(1 << 30);
    const store = new StateStore({ budget });
    for (const [u, s] of states) store.set(u, s);
    expect(budget.usedBytes).toBeGreaterThan(0);
    store.close();
    expect(budget.usedBytes).toBe(0);
    expect(store.liveSize).toBe(0);
    for (const [u, s] of states) expect(same(store.bytes(u), s)).toBe(true);
    const [u, s] = states[0] as [string, UserState];
    store.set(u, s);
    expect(store.liveSize).toBe(0);
    expect(same(store.bytes(u), s)).toBe(true);
  });

  it('of 0 bytes keeps nothing decoded', async () => {
    const states = [...(await upgradeWorkloadStates())];
    const store = new StateStore({ budget: new StateCacheBudget(0) });
    for (const [u, s] of states) {
      store.set(u, s);
      expect(store.liveSize).toBe(0);
      expect(same(store.bytes(u), s)).toBe(true);
    }
  });

  it('fails loudly when a member over the bound frees nothing', () => {
    const budget = new StateCacheBudget(10);
    const stuck: CacheMember = { cachedBytes: 100, evictOldest: () => undefined };
    budget.join(stuck);
    expect(() => budget.fit()).toThrow('freed nothing');
  });
});
