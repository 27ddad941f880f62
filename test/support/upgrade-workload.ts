/**
 * The deterministic workload behind the state-upgrade fixtures: users whose interests move from
 * one set of categories to another part-way, with purchases, repeats, idle gaps and re-sent
 * event ids. `before` is what the old code processed (its changelog is the fixture); `after`
 * continues every user, so a restored processor and one that never stopped can be compared.
 */
import type { ClickEvent, EventKind } from '../../src/core/types';
import { HOUR, MIN, T0 } from './test-driver';

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
  const before: ClickEvent[] = [];
  const after: ClickEvent[] = [];
  for (let u = 0; u < UPGRADE_USERS; u++) {
    const userId = `upgrade-u${u}`;
    const from = [`c${u % 7}`, `c${(u + 1) % 7}`];
    const to = [`d${u % 5}`, `d${(u + 2) % 5}`, `d${(u + 3) % 5}`];
    const switchAt = 30 + Math.floor(r() * 30);
    let t = T0 + u * 7 * MIN;
    let lastBefore: ClickEvent | undefined;
    const total = 90 + Math.floor(r() * 40);
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
      if (i === 60 && lastBefore) after.push({ ...lastBefore, eventTimeMs: lastBefore.eventTimeMs });
      if (i < 60) lastBefore = e;
      (i < 60 ? before : after).push(e);
      // A re-sent event (same id) now and then: dedup must recognise it across the upgrade.
      if (r() < 0.03) (i < 60 ? before : after).push({ ...e });
    }
  }
  // Users interleave in event-time order, as they would on a partition.
  const byTime = (a: ClickEvent, b: ClickEvent): number => a.eventTimeMs - b.eventTimeMs;
  return { before: before.sort(byTime), after: after.sort(byTime) };
}
