/**
 * Category weights that decay exponentially per EVENT (half-life in events) and, optionally, in
 * EVENT time (half-life in ms; 0 = off).
 *
 * Why events first: shoppers are bursty (dozens of events in a session, then hours of silence),
 * so a purely time-based horizon would be emptied by every night and refilled by whatever the
 * next session is about. A horizon counted in events measures "the last N things the user did".
 *
 * Immutable: addEvent() returns a new histogram. Weights are expressed at `anchorTimeMs`; an
 * event older than the anchor (a late event within the allowed lateness) gets its own smaller
 * time weight. At most
 * `maxCategories` entries are kept (smallest weights dropped, ties by category id), so the
 * state stays bounded. Every iteration that feeds a float sum goes in category-id order, so a
 * histogram restored from the changelog computes bit-identical results.
 *
 * Layout: two parallel arrays sorted by category id, not a Map. The per-event update, shares and
 * divergence then walk plain arrays; with a Map each walk allocated an entry pair per category
 * and a new Map per step, which was about half of what the per-event update allocated.
 */

export interface DecayedHistogram {
  readonly anchorTimeMs: number;
  /** Category ids in ascending code-unit order (JS `<`), each once. */
  readonly ids: readonly string[];
  /** weights[i] is the weight of ids[i] at anchorTimeMs. */
  readonly weights: readonly number[];
}

export const EMPTY_HISTOGRAM: DecayedHistogram = { anchorTimeMs: 0, ids: [], weights: [] };

/** A histogram from (category id, weight) pairs in any order (decoders, tests); ids must be unique. */
export function histogramOf(
  anchorTimeMs: number,
  pairs: Iterable<readonly [string, number]>,
): DecayedHistogram {
  const sorted = [...pairs];
  if (!isInIdOrder(sorted)) sorted.sort(([a], [b]) => (a < b ? -1 : 1));
  return { anchorTimeMs, ids: sorted.map(([k]) => k), weights: sorted.map(([, w]) => w) };
}

/** The weight of `categoryId`, undefined when the histogram does not hold it. */
export function weightOf(h: DecayedHistogram, categoryId: string): number | undefined {
  const i = h.ids.indexOf(categoryId);
  return i < 0 ? undefined : h.weights[i];
}

export function decayFactor(dtMs: number, halfLifeMs: number): number {
  return dtMs <= 0 || halfLifeMs === Infinity ? 1 : Math.pow(2, -dtMs / halfLifeMs);
}

export interface Horizon {
  /** Half-life in events (> 0). */
  readonly halfLifeEvents: number;
  /** Half-life in event time, ms; 0 disables time decay. */
  readonly halfLifeMs: number;
}

export function addEvent(
  h: DecayedHistogram,
  categoryId: string,
  eventTimeMs: number,
  weight: number,
  horizon: Horizon,
  maxCategories: number,
): DecayedHistogram {
  const anchor = Math.max(h.anchorTimeMs, eventTimeMs);
  const halfLifeMs = horizon.halfLifeMs > 0 ? horizon.halfLifeMs : Infinity;
  const f = decayFactor(anchor - h.anchorTimeMs, halfLifeMs) * Math.pow(2, -1 / horizon.halfLifeEvents);
  const add = weight * decayFactor(anchor - eventTimeMs, halfLifeMs);
  const n = h.ids.length;
  // Where categoryId is, or goes to keep the ids sorted.
  let at = 0;
  while (at < n && (h.ids[at] as string) < categoryId) at++;
  const present = at < n && h.ids[at] === categoryId;
  const ids: string[] = new Array<string>(present ? n : n + 1);
  const weights: number[] = new Array<number>(ids.length);
  for (let i = 0, j = 0; j < ids.length; j++) {
    if (j === at) {
      ids[j] = categoryId;
      weights[j] = present ? (h.weights[i++] as number) * f + add : add;
    } else {
      ids[j] = h.ids[i] as string;
      weights[j] = (h.weights[i++] as number) * f;
    }
  }
  return prune({ anchorTimeMs: anchor, ids, weights }, maxCategories);
}

/**
 * Keeps the `maxCategories` largest weights, ties by category id (smaller id kept), ids still in
 * ascending order. The arrays of `h` are fresh (addEvent built them), so they may be edited.
 */
function prune(
  h: { anchorTimeMs: number; ids: string[]; weights: number[] },
  maxCategories: number,
): DecayedHistogram {
  if (h.ids.length <= maxCategories) return h;
  const { ids, weights } = h;
  if (ids.length === maxCategories + 1) {
    // One category over, as after every addEvent on a full histogram: drop the one entry the
    // general ordering below would drop last (smallest weight; among equal weights the largest
    // id), without sorting. Same result, same arrays' order.
    let drop = 0;
    for (let i = 1; i < ids.length; i++) {
      const w = weights[i] as number;
      const d = weights[drop] as number;
      if (w < d || (w === d && (ids[i] as string) > (ids[drop] as string))) drop = i;
    }
    ids.splice(drop, 1);
    weights.splice(drop, 1);
    return h;
  }
  const kept = ids
    .map((_, i) => i)
    .sort(
      (a, b) =>
        (weights[b] as number) - (weights[a] as number) || ((ids[a] as string) < (ids[b] as string) ? -1 : 1),
    )
    .slice(0, maxCategories)
    .sort((a, b) => a - b);
  return {
    anchorTimeMs: h.anchorTimeMs,
    ids: kept.map((i) => ids[i] as string),
    weights: kept.map((i) => weights[i] as number),
  };
}

/** Sum of the weights, in category-id order (the order every sum here uses). */
function total(h: DecayedHistogram): number {
  let t = 0;
  for (let i = 0; i < h.weights.length; i++) t += h.weights[i] as number;
  return t;
}

/** Shares (sum 1) in category-id order; empty when there is no weight. */
export function shares(h: DecayedHistogram): Map<string, number> {
  const t = total(h);
  const out = new Map<string, number>();
  if (t <= 0) return out;
  for (let i = 0; i < h.ids.length; i++) out.set(h.ids[i] as string, (h.weights[i] as number) / t);
  return out;
}

function isInIdOrder(entries: readonly (readonly [string, number])[]): boolean {
  for (let i = 1; i < entries.length; i++) {
    if ((entries[i - 1] as readonly [string, number])[0] >= (entries[i] as readonly [string, number])[0])
      return false;
  }
  return true;
}

/**
 * The entries in category-id order. Shares maps built here are already in that order, so the
 * sort is usually skipped; what matters is that float sums always run in the same order.
 */
function inIdOrder(m: ReadonlyMap<string, number>): [string, number][] {
  const entries = [...m];
  return isInIdOrder(entries) ? entries : entries.sort(([a], [b]) => (a < b ? -1 : 1));
}

/** Top-n categories by share, ties by category id. */
export function topShares(h: DecayedHistogram, n: number): { categoryId: string; share: number }[] {
  const t = total(h);
  if (t <= 0) return [];
  return h.ids
    .map((categoryId, i) => ({ categoryId, share: (h.weights[i] as number) / t }))
    .sort((a, b) => b.share - a.share || (a.categoryId < b.categoryId ? -1 : 1))
    .slice(0, n);
}

/**
 * Jensen–Shannon divergence of the two histograms' shares, base 2, in [0, 1]; 0 when either has no
 * weight. One merge walk over both id-sorted arrays gives the sorted union, so the float sum runs
 * in category-id order, and no share map is built: the per-event drift score reads it at every
 * event.
 */
export function histogramDivergence(p: DecayedHistogram, q: DecayedHistogram): number {
  const tp = total(p);
  const tq = total(q);
  if (tp <= 0 || tq <= 0) return 0;
  let js = 0;
  let i = 0;
  let j = 0;
  while (i < p.ids.length || j < q.ids.length) {
    const pk = p.ids[i];
    const qk = q.ids[j];
    let a = 0;
    let b = 0;
    if (qk === undefined || (pk !== undefined && pk < qk)) a = (p.weights[i++] as number) / tp;
    else if (pk === undefined || qk < pk) b = (q.weights[j++] as number) / tq;
    else {
      a = (p.weights[i++] as number) / tp;
      b = (q.weights[j++] as number) / tq;
    }
    // The operations and their order are those of the Map version this replaced (the reference
    // in the unit test): the drift score must not move by one bit.
    const m = (a + b) / 2;
    if (a > 0) js += 0.5 * a * Math.log2(a / m);
    if (b > 0) js += 0.5 * b * Math.log2(b / m);
  }
  return Math.min(1, Math.max(0, js));
}

/** Shannon entropy of the shares, bits. */
export function entropyBits(p: ReadonlyMap<string, number>): number {
  let e = 0;
  for (const [, v] of inIdOrder(p)) {
    if (v > 0) e -= v * Math.log2(v);
  }
  return e;
}
