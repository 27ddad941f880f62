import type { UserState } from '../../../src/core/user-state';
import { encodeState } from '../../../src/state/state-codec';
import { StateStore } from '../../../src/state/state-store';
import { upgradeWorkloadStates } from '../../support/upgrade-workload';

const same = (a: Uint8Array | undefined, b: Uint8Array): boolean =>
  a !== undefined && Buffer.from(a).equals(Buffer.from(b));

describe('StateStore decoded-state cache', () => {
  it('serves written states without encoding, and gives the exact bytes of each when asked', async () => {
    const states = await upgradeWorkloadStates();
    const store = new StateStore({ maxUsers: 3 });
    for (const [u, s] of states) store.set(u, s);
    expect(store.size).toBe(states.size);
    expect(store.liveSize).toBe(3);
    for (const [u, s] of states) {
      expect(store.get(u)).toEqual(s);
      expect(same(store.bytes(u), encodeState(s))).toBe(true);
    }
  });

  it('a newer write replaces the encoded value, whether the user was cached, evicted or restored', async () => {
    const all = [...(await upgradeWorkloadStates())];
    const [[u, a], [, b], [v, c]] = all.slice(0, 3) as [
      [string, UserState],
      [string, UserState],
      [string, UserState],
    ];
    const store = new StateStore({ maxUsers: 1 });
    store.put(u, encodeState(a));
    store.set(u, b);
    expect(same(store.bytes(u), encodeState(b))).toBe(true);
    store.set(u, a);
    store.set(v, c); // evicts u, encoding a
    expect(store.liveSize).toBe(1);
    expect(same(store.bytes(u), encodeState(a))).toBe(true);
    expect(store.get(u)).toEqual(a);
    store.setEncoded(u, b, encodeState(b));
    expect(same(store.bytes(u), encodeState(b))).toBe(true);
    store.put(u, encodeState(c));
    expect(store.get(u)).toEqual({ ...c, userId: u });
    expect(store.size).toBe(2);
  });

  it('scans cached and encoded users alike, and forgets a deleted user everywhere', async () => {
    const states = await upgradeWorkloadStates();
    const store = new StateStore({ maxUsers: 2 });
    for (const [u, s] of states) store.set(u, s);
    const seen = new Map<string, number>();
    store.scan((u, t) => seen.set(u, t.lastEventTimeMs + t.nextTimerTimeMs));
    expect(seen).toEqual(
      new Map([...states].map(([u, s]) => [u, s.lastEventTimeMs + s.churn.nextTimerTimeMs])),
    );
    const last = [...states.keys()].at(-1) as string;
    store.delete(last);
    expect(store.get(last)).toBeUndefined();
    expect(store.bytes(last)).toBeUndefined();
    expect(store.has(last)).toBe(false);
    expect(store.size).toBe(states.size - 1);
  });
});
