/**
 * Next-category baselines, scored like the model (HR@10, NDCG@10 at every position t ≥ 1 of a
 * user's sequence: the category of event t against a top-10 list built from what came before).
 * Everything is learned online in event-time order from this file's earlier events only, so no
 * baseline sees the future:
 *   - most frequent so far: the user's categories by count (ties: most recent first);
 *   - last: the user's distinct categories, most recent first;
 *   - Markov: categories that followed the user's last category, over all users so far;
 *   - popularity: the most frequent categories over all users so far.
 * Lists shorter than 10 are filled from popularity. Positions whose target repeats the previous
 * event's category within the same session (gap < SESSION_GAP_MS) are in-session repeats, scored
 * separately, because copying the last category wins them for free. Pure.
 */
import type { DatasetRow } from '../io/datasets';

export const SESSION_GAP_MS = 30 * 60_000;
const K = 10;

export interface TopKScore {
  readonly positions: number;
  readonly hrAt10: number;
  readonly ndcgAt10: number;
}

export interface NextCategoryMethod {
  readonly method: string;
  readonly all: TopKScore;
  /** Only positions that are not in-session repeats. */
  readonly withoutRepeats: TopKScore;
}

export function isInSessionRepeat(prev: DatasetRow, next: DatasetRow): boolean {
  return prev.categoryId === next.categoryId && next.eventTimeMs - prev.eventTimeMs < SESSION_GAP_MS;
}

/** Accumulates hits and DCG of 0-based ranks (−1 = not in the top 10). */
export class TopKAccumulator {
  private n = 0;
  private hits = 0;
  private dcg = 0;
  add(rank: number): void {
    this.n++;
    if (rank >= 0 && rank < K) {
      this.hits++;
      this.dcg += 1 / Math.log2(rank + 2);
    }
  }
  score(): TopKScore {
    return {
      positions: this.n,
      hrAt10: this.n ? this.hits / this.n : 0,
      ndcgAt10: this.n ? this.dcg / this.n : 0,
    };
  }
}

function topByCount(
  counts: ReadonlyMap<string, number>,
  tieBreak: (c: string) => number,
  k: number,
): string[] {
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || tieBreak(b[0]) - tieBreak(a[0]) || (a[0] < b[0] ? -1 : 1))
    .slice(0, k)
    .map(([c]) => c);
}

function fill(list: string[], popular: readonly string[]): string[] {
  for (const c of popular) {
    if (list.length >= K) break;
    if (!list.includes(c)) list.push(c);
  }
  return list;
}

export function nextCategoryBaselines(rows: readonly DatasetRow[]): NextCategoryMethod[] {
  const sorted = rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => a.r.eventTimeMs - b.r.eventTimeMs || a.i - b.i)
    .map((x) => x.r);
  const names = [
    'most frequent so far',
    'last (most recent first)',
    'Markov (after the last category)',
    'popularity',
  ];
  const all = names.map(() => new TopKAccumulator());
  const noRep = names.map(() => new TopKAccumulator());
  const popularity = new Map<string, number>();
  const transitions = new Map<string, Map<string, number>>();
  const users = new Map<
    string,
    { counts: Map<string, number>; lastSeen: Map<string, number>; last: DatasetRow }
  >();
  // Popularity is re-ranked every 100 events (sorting every category at every event is too slow
  // for large files); still only from earlier events.
  let popularTop: string[] = [];
  let popularDirty = true;
  let sinceRank = 0;
  let step = 0;
  for (const r of sorted) {
    step++;
    const u = users.get(r.userId);
    if (u) {
      if (popularDirty && (popularTop.length < K || sinceRank >= 100)) {
        popularTop = topByCount(popularity, () => 0, 3 * K);
        popularDirty = false;
        sinceRank = 0;
      }
      const lists = [
        fill(
          topByCount(u.counts, (c) => u.lastSeen.get(c) ?? 0, K),
          popularTop,
        ),
        fill(
          [...u.lastSeen.entries()]
            .sort((a, b) => b[1] - a[1])
            .slice(0, K)
            .map(([c]) => c),
          popularTop,
        ),
        fill(
          topByCount(transitions.get(u.last.categoryId) ?? new Map<string, number>(), () => 0, K),
          popularTop,
        ),
        popularTop.slice(0, K),
      ];
      const repeat = isInSessionRepeat(u.last, r);
      lists.forEach((list, k) => {
        const rank = list.indexOf(r.categoryId);
        (all[k] as TopKAccumulator).add(rank);
        if (!repeat) (noRep[k] as TopKAccumulator).add(rank);
      });
      const t = transitions.get(u.last.categoryId) ?? new Map<string, number>();
      t.set(r.categoryId, (t.get(r.categoryId) ?? 0) + 1);
      transitions.set(u.last.categoryId, t);
    }
    const state = u ?? { counts: new Map<string, number>(), lastSeen: new Map<string, number>(), last: r };
    state.counts.set(r.categoryId, (state.counts.get(r.categoryId) ?? 0) + 1);
    state.lastSeen.set(r.categoryId, step);
    state.last = r;
    users.set(r.userId, state);
    popularity.set(r.categoryId, (popularity.get(r.categoryId) ?? 0) + 1);
    popularDirty = true;
    sinceRank++;
  }
  return names.map((method, k) => ({
    method,
    all: (all[k] as TopKAccumulator).score(),
    withoutRepeats: (noRep[k] as TopKAccumulator).score(),
  }));
}
