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
import { SESSION_GAP_MS } from '../core/types';
import type { DatasetRow } from '../io/datasets';
import type { Interval } from './bootstrap';
import { bootstrapInterval } from './bootstrap';

const K = 10;

export interface TopKScore {
  readonly positions: number;
  readonly hrAt10: number;
  readonly ndcgAt10: number;
  /** 95 % user-level bootstrap intervals (bootstrap.ts), when positions were added per user. */
  readonly hrAt10Interval?: Interval;
  readonly ndcgAt10Interval?: Interval;
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

export interface UserTotals {
  n: number;
  hits: number;
  dcg: number;
}

/**
 * Accumulates hits and DCG of 0-based ranks (−1 = not in the top 10). Positions added with a
 * user id also get user-level bootstrap intervals: a user's positions are not independent.
 */
export class TopKAccumulator {
  private readonly total: UserTotals = { n: 0, hits: 0, dcg: 0 };
  private readonly byUser = new Map<string, UserTotals>();
  add(rank: number, userId?: string): void {
    const hit = rank >= 0 && rank < K;
    const gain = hit ? 1 / Math.log2(rank + 2) : 0;
    for (const t of userId === undefined ? [this.total] : [this.total, this.userTotals(userId)]) {
      t.n++;
      if (hit) {
        t.hits++;
        t.dcg += gain;
      }
    }
  }
  score(): TopKScore {
    const { n, hits, dcg } = this.total;
    const base = { positions: n, hrAt10: n ? hits / n : 0, ndcgAt10: n ? dcg / n : 0 };
    if (this.byUser.size === 0) return base;
    const users = [...this.byUser.values()];
    const ratio =
      (key: 'hits' | 'dcg') =>
      (sample: readonly UserTotals[]): number => {
        let num = 0;
        let den = 0;
        for (const u of sample) {
          num += u[key];
          den += u.n;
        }
        return den > 0 ? num / den : NaN;
      };
    return {
      ...base,
      hrAt10Interval: bootstrapInterval(users, ratio('hits')),
      ndcgAt10Interval: bootstrapInterval(users, ratio('dcg')),
    };
  }
  /** Per-user totals (read-only view). */
  totalsByUser(): ReadonlyMap<string, Readonly<UserTotals>> {
    return this.byUser;
  }
  private userTotals(userId: string): UserTotals {
    let t = this.byUser.get(userId);
    if (!t) {
      t = { n: 0, hits: 0, dcg: 0 };
      this.byUser.set(userId, t);
    }
    return t;
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
  return nextCategoryBaselineRuns(rows).map((r) => ({
    method: r.method,
    all: r.all.score(),
    withoutRepeats: r.withoutRepeats.score(),
  }));
}

/** The baselines' accumulators (per-user totals kept), for paired comparisons. */
export function nextCategoryBaselineRuns(
  rows: readonly DatasetRow[],
): { method: string; all: TopKAccumulator; withoutRepeats: TopKAccumulator }[] {
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
        (all[k] as TopKAccumulator).add(rank, r.userId);
        if (!repeat) (noRep[k] as TopKAccumulator).add(rank, r.userId);
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
    all: all[k] as TopKAccumulator,
    withoutRepeats: noRep[k] as TopKAccumulator,
  }));
}

export interface PairedDifference {
  /** Difference (a − b) of HR@10 and NDCG@10, with a 95 % interval over users resampled in pairs. */
  readonly hrAt10: Interval;
  readonly ndcgAt10: Interval;
}

/**
 * a − b on the same positions, users resampled with both methods' totals together (a user's
 * positions are scored by both, so the difference is far less noisy than two separate intervals).
 */
export function pairedDifference(a: TopKAccumulator, b: TopKAccumulator): PairedDifference {
  const ua = a.totalsByUser();
  const ub = b.totalsByUser();
  const users = [...ua.keys()]
    .filter((u) => ub.has(u))
    .map((u) => [ua.get(u), ub.get(u)] as [UserTotals, UserTotals]);
  const diff =
    (key: 'hits' | 'dcg') =>
    (sample: readonly [UserTotals, UserTotals][]): number => {
      let na = 0;
      let nb = 0;
      let sa = 0;
      let sb = 0;
      for (const [x, y] of sample) {
        na += x.n;
        nb += y.n;
        sa += x[key];
        sb += y[key];
      }
      return na > 0 && nb > 0 ? sa / na - sb / nb : NaN;
    };
  return { hrAt10: bootstrapInterval(users, diff('hits')), ndcgAt10: bootstrapInterval(users, diff('dcg')) };
}
