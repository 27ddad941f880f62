/**
 * What "this user's interests really moved" means on real data, measured from the data itself:
 * split the user's events into the first and second half (by count); the user is a SHIFTER when
 * the top-3 categories of the two halves share nothing, and STABLE when they share at least two.
 * Users in between, or with fewer than `minEvents` events, are left out of both groups.
 */
import type { DatasetRow } from '../io/datasets';
import { rowsByUser } from '../io/datasets';

export interface ShiftLabel {
  readonly userId: string;
  readonly label: 'shifter' | 'stable' | 'ambiguous';
  /** Index of the first event of the second half, in the user's own sequence. */
  readonly changeIndex: number;
  readonly changeTimeMs: number;
  readonly events: number;
}

function top3(rows: readonly DatasetRow[]): string[] {
  const c = new Map<string, number>();
  for (const r of rows) c.set(r.categoryId, (c.get(r.categoryId) ?? 0) + 1);
  return [...c.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 3)
    .map(([k]) => k);
}

export function realisedShift(rows: readonly DatasetRow[], minEvents = 20): Map<string, ShiftLabel> {
  const byUser = rowsByUser(rows);
  const out = new Map<string, ShiftLabel>();
  for (const [userId, list] of byUser) {
    const half = Math.floor(list.length / 2);
    const a = top3(list.slice(0, half));
    const b = top3(list.slice(half));
    const shared = a.filter((x) => b.includes(x)).length;
    const label =
      list.length < minEvents ? 'ambiguous' : shared === 0 ? 'shifter' : shared >= 2 ? 'stable' : 'ambiguous';
    out.set(userId, {
      userId,
      label,
      changeIndex: half,
      changeTimeMs: list[half]?.eventTimeMs ?? 0,
      events: list.length,
    });
  }
  return out;
}
