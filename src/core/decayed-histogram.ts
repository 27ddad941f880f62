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
 */

export interface DecayedHistogram {
  readonly anchorTimeMs: number;
  readonly weights: ReadonlyMap<string, number>;
}

export const EMPTY_HISTOGRAM: DecayedHistogram = { anchorTimeMs: 0, weights: new Map() };

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
  // A new category goes in at its place in id order, keeping the map sorted (see inIdOrder).
  let placed = h.weights.has(categoryId);
  const next = new Map<string, number>();
  for (const [k, w] of h.weights) {
    if (!placed && categoryId < k) {
      next.set(categoryId, add);
      placed = true;
    }
    next.set(k, k === categoryId ? w * f + add : w * f);
  }
  if (!placed) next.set(categoryId, add);
  return { anchorTimeMs: anchor, weights: prune(next, maxCategories) };
}

function prune(m: Map<string, number>, maxCategories: number): Map<string, number> {
  if (m.size <= maxCategories) return m;
  const kept = [...m.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, maxCategories)
    .sort((a, b) => (a[0] < b[0] ? -1 : 1));
  return new Map(kept);
}

/** Shares (sum 1) in category-id order; empty when there is no weight. */
export function shares(h: DecayedHistogram): Map<string, number> {
  const entries = inIdOrder(h.weights);
  let total = 0;
  for (const [, w] of entries) total += w;
  const out = new Map<string, number>();
  if (total <= 0) return out;
  for (const [k, w] of entries) out.set(k, w / total);
  return out;
}

/**
 * The entries in category-id order. Histograms built here and decoded from the changelog are
 * already in that order (only a new category is appended out of place), so the sort is usually
 * skipped; what matters is that float sums always run in the same order.
 */
export function inIdOrder(m: ReadonlyMap<string, number>): [string, number][] {
  const entries = [...m];
  for (let i = 1; i < entries.length; i++) {
    if ((entries[i - 1] as [string, number])[0] >= (entries[i] as [string, number])[0]) {
      return entries.sort(([a], [b]) => (a < b ? -1 : 1));
    }
  }
  return entries;
}

/** Top-n categories by share, ties by category id. */
export function topShares(h: DecayedHistogram, n: number): { categoryId: string; share: number }[] {
  return [...shares(h).entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, n)
    .map(([categoryId, share]) => ({ categoryId, share }));
}

/** Jensen–Shannon divergence, base 2, in [0, 1]. 0 when either side is empty. */
export function jensenShannon(p: ReadonlyMap<string, number>, q: ReadonlyMap<string, number>): number {
  if (p.size === 0 || q.size === 0) return 0;
  // Both sides in id order (as shares() returns them): one merge walk gives the sorted union.
  const ps = inIdOrder(p);
  const qs = inIdOrder(q);
  let js = 0;
  const term = (a: number, b: number): void => {
    const m = (a + b) / 2;
    if (a > 0) js += 0.5 * a * Math.log2(a / m);
    if (b > 0) js += 0.5 * b * Math.log2(b / m);
  };
  let i = 0;
  let j = 0;
  while (i < ps.length || j < qs.length) {
    const [pk, pv] = ps[i] ?? ['', 0];
    const [qk, qv] = qs[j] ?? ['', 0];
    if (j >= qs.length || (i < ps.length && pk < qk)) {
      term(pv, 0);
      i++;
    } else if (i >= ps.length || qk < pk) {
      term(0, qv);
      j++;
    } else {
      term(pv, qv);
      i++;
      j++;
    }
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
