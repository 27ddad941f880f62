/**
 * The deterministic workload behind the state-upgrade fixtures: users whose interests move from
 * one set of categories to another part-way, with purchases, repeats, idle gaps and re-sent
 * event ids. `before` is what the old code processed (its changelog is the fixture); `after`
 * continues every user, so a restored processor and one that never stopped can be compared.
 */
import type { ClickEvent, EventKind } from '../../src/core/types';
import type { UserState } from '../../src/core/user-state';
import { HOUR, MIN, T0, TestDriver } from './test-driver';

export const UPGRADE_USERS = 40;

function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

export function upgradeWorkload(): { before: ClickEvent[]; after: ClickEvent[] } {
  const r = lcg(20261126);
  const all: ClickEvent[] = [];
  for (let u = 0; u < UPGRADE_USERS; u++) {
    const userId = `upgrade-u${u}`;
    const from = [`c${u % 7}`, `c${(u + 1) % 7}`];
    const to = [`d${u % 5}`, `d${(u + 2) % 5}`, `d${(u + 3) % 5}`];
    const total = 90 + Math.floor(r() * 40);
    const switchAt = Math.floor(total * (0.3 + 0.4 * r()));
    let t = T0 + u * 7 * MIN;
    for (let i = 0; i < total; i++) {
      t += r() < 0.08 ? Math.floor(r() * 30) * HOUR : Math.floor(5_000 + r() * 5 * MIN);
      const pool = i < switchAt ? from : to;
      const kind: EventKind = r() < 0.05 ? 'purchase' : r() < 0.12 ? 'cart' : 'view';
      const e: ClickEvent = {
        eventId: `${userId}-e${i}`,
        userId,
        itemId: `item-${u}-${i % 13}`,
        categoryId: pool[Math.floor(r() * pool.length)] as string,
        kind,
        eventTimeMs: t,
      };
      all.push(e);
      // A re-sent event (same id, same time) now and then: dedup must recognise it.
      if (r() < 0.03) all.push({ ...e });
    }
  }
  // Users interleave in event-time order, as on a partition; the upgrade happens at the median
  // event, and the last 10 events before it are re-sent right after it (producer retries that
  // straddle the upgrade: only the restored dedup memory can recognise them).
  all.sort((a, b) => a.eventTimeMs - b.eventTimeMs);
  const cut = all.length >> 1;
  const before = all.slice(0, cut);
  const after = before
    .slice(-10)
    .map((e) => ({ ...e }))
    .concat(all.slice(cut));
  return { before, after };
}

/** Every user's final state after the whole workload (before, then after), fed in chunks of 100. */
export async function upgradeWorkloadStates(): Promise<Map<string, UserState>> {
  const d = new TestDriver();
  const { before, after } = upgradeWorkload();
  for (const part of [before, after])
    for (let i = 0; i < part.length; i += 100) await d.feed(part.slice(i, i + 100));
  return d.states;
}
