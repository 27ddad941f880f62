import {
  EMPTY_HISTOGRAM,
  addEvent,
  entropyBits,
  histogramDivergence,
  histogramOf,
  shares,
  topShares,
  weightOf,
} from '../../../src/core/decayed-histogram';
import type { DecayedHistogram, Horizon } from '../../../src/core/decayed-histogram';

const perEvent = { halfLifeEvents: 2, halfLifeMs: 0 };

/**
 * The Jensen–Shannon divergence of two share maps as the service computed it before histograms
 * were arrays (both sides sorted by id, one merge walk): the reference histogramDivergence must
 * equal bit for bit.
 */
function jensenShannon(p: ReadonlyMap<string, number>, q: ReadonlyMap<string, number>): number {
  if (p.size === 0 || q.size === 0) return 0;
  const byId = (m: ReadonlyMap<string, number>): [string, number][] =>
    [...m].sort(([a], [b]) => (a < b ? -1 : 1));
  const ps = byId(p);
  const qs = byId(q);
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

describe('decayed histogram', () => {
  it('halves old weight every halfLifeEvents events', () => {
    let h = addEvent(EMPTY_HISTOGRAM, 'a', 0, 1, perEvent, 10);
    h = addEvent(h, 'b', 1, 1, perEvent, 10);
    h = addEvent(h, 'b', 2, 1, perEvent, 10);
    expect(weightOf(h, 'a')).toBeCloseTo(0.5, 12); // decayed by 2^(−1/2) at each of the two later events
    expect(shares(h).get('b')).toBeGreaterThan(shares(h).get('a') as number);
  });

  it('decays in event time when a time half-life is set, and weighs a late event by its age', () => {
    const horizon = { halfLifeEvents: 1e12, halfLifeMs: 1000 };
    let h = addEvent(EMPTY_HISTOGRAM, 'a', 0, 1, horizon, 10);
    h = addEvent(h, 'b', 2000, 1, horizon, 10);
    expect(weightOf(h, 'a')).toBeCloseTo(0.25, 6);
    h = addEvent(h, 'c', 1000, 1, horizon, 10); // late by 1 s: half weight
    expect(weightOf(h, 'c')).toBeCloseTo(0.5, 6);
    expect(h.anchorTimeMs).toBe(2000);
  });

  it('keeps at most maxCategories, dropping the smallest', () => {
    let h = EMPTY_HISTOGRAM;
    for (const c of ['a', 'b', 'c', 'd']) h = addEvent(h, c, 0, c === 'a' ? 5 : 1, perEvent, 2);
    expect(h.ids).toEqual(['a', 'd']);
  });

  it('drops the largest id among equal smallest weights, one over the cap or many', () => {
    const flat = { halfLifeEvents: Infinity, halfLifeMs: 0 };
    let h = EMPTY_HISTOGRAM;
    for (const c of ['c5', 'c1', 'c9', 'c3']) h = addEvent(h, c, 0, 1, flat, 3);
    expect(h.ids).toEqual(['c1', 'c3', 'c5']);
    h = addEvent(h, 'c0', 0, 2, flat, 3);
    expect(h.ids).toEqual(['c0', 'c1', 'c3']);
    expect(h.weights).toEqual([2, 1, 1]);
    // A state restored with more categories than today's cap (the cap was lowered): many over.
    const wide = histogramOf(0, [
      ['a', 1],
      ['b', 3],
      ['c', 1],
      ['d', 2],
      ['e', 3],
    ]);
    const cut = addEvent(wide, 'f', 0, 1, flat, 3);
    expect(cut.ids).toEqual(['b', 'd', 'e']);
    expect(cut.weights).toEqual([3, 2, 3]);
  });

  it('computes JS divergence in [0, 1]: 0 for equal, 1 for disjoint', () => {
    const p = histogramOf(0, [
      ['a', 0.5],
      ['b', 0.5],
    ]);
    expect(histogramDivergence(p, p)).toBeCloseTo(0, 12);
    expect(histogramDivergence(p, histogramOf(0, [['c', 1]]))).toBeCloseTo(1, 12);
    expect(entropyBits(shares(p))).toBeCloseTo(1, 12);
    expect(
      topShares(
        histogramOf(0, [
          ['y', 3],
          ['x', 1],
        ]),
        1,
      ),
    ).toEqual([{ categoryId: 'y', share: 0.75 }]);
  });

  it('keeps weights in category-id order, and shares do not depend on the order a map holds', () => {
    let h = EMPTY_HISTOGRAM;
    for (const [i, c] of ['m', 'c', 'x', 'c', 'a', 'q', 'm', 'b'].entries())
      h = addEvent(h, c, i, 1 + i / 7, perEvent, 10);
    expect(h.ids).toEqual(['a', 'b', 'c', 'm', 'q', 'x']);
    // Pairs in another order (e.g. decoded from an older state version) give bit-identical shares.
    const shuffled = histogramOf(
      h.anchorTimeMs,
      h.ids.map((c, i) => [c, h.weights[i] as number] as const).reverse(),
    );
    expect(shuffled.ids).toEqual(h.ids);
    expect([...shares(shuffled)]).toEqual([...shares(h)]);
    expect([...shares(shuffled).keys()]).toEqual(['a', 'b', 'c', 'm', 'q', 'x']);
    // Divergence and entropy over a partly overlapping pair: the same bits in any map order.
    const other = addEvent(addEvent(EMPTY_HISTOGRAM, 'c', 0, 2, perEvent, 10), 'z', 1, 1, perEvent, 10);
    const rev = (m: Map<string, number>): Map<string, number> => new Map([...m].reverse());
    const reversed = (x: DecayedHistogram): DecayedHistogram =>
      histogramOf(x.anchorTimeMs, x.ids.map((c, i) => [c, x.weights[i] as number] as const).reverse());
    const js = histogramDivergence(h, other);
    expect(js).toBeGreaterThan(0);
    expect(histogramDivergence(reversed(h), reversed(other))).toBe(js);
    expect(histogramDivergence(other, h)).toBeCloseTo(js, 14);
    expect(entropyBits(rev(shares(h)))).toBe(entropyBits(shares(h)));
  });

  it('matches the map-based reference bit for bit: updates, pruning, shares and divergence', () => {
    // The layout before 0.x kept weights in a Map; the drift score and the changelog must not
    // move by one bit with the array layout. This is that implementation, kept as the reference.
    const refAdd = (
      h: { anchorTimeMs: number; weights: Map<string, number> },
      c: string,
      t: number,
      w: number,
      hz: Horizon,
      max: number,
    ): { anchorTimeMs: number; weights: Map<string, number> } => {
      const anchor = Math.max(h.anchorTimeMs, t);
      const hl = hz.halfLifeMs > 0 ? hz.halfLifeMs : Infinity;
      const decay = (dt: number): number => (dt <= 0 || hl === Infinity ? 1 : Math.pow(2, -dt / hl));
      const f = decay(anchor - h.anchorTimeMs) * Math.pow(2, -1 / hz.halfLifeEvents);
      const add = w * decay(anchor - t);
      const next = new Map<string, number>();
      for (const [k, x] of h.weights) next.set(k, k === c ? x * f + add : x * f);
      if (!next.has(c)) next.set(c, add);
      let entries = [...next].sort((a, b) => (a[0] < b[0] ? -1 : 1));
      if (entries.length > max)
        entries = entries
          .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
          .slice(0, max)
          .sort((a, b) => (a[0] < b[0] ? -1 : 1));
      return { anchorTimeMs: anchor, weights: new Map(entries) };
    };
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const horizon = { halfLifeEvents: 5, halfLifeMs: 3_600_000 };
    let a: DecayedHistogram = EMPTY_HISTOGRAM;
    let b: DecayedHistogram = EMPTY_HISTOGRAM;
    let ra = { anchorTimeMs: 0, weights: new Map<string, number>() };
    let t = 0;
    for (let i = 0; i < 2000; i++) {
      t += Math.floor(rnd() * 600_000);
      const late = rnd() < 0.1 ? Math.floor(rnd() * 300_000) : 0;
      const c = `c${Math.floor(rnd() * 40)}`;
      const w = 1 + Math.floor(rnd() * 4);
      a = addEvent(a, c, t - late, w, horizon, 12);
      ra = refAdd(ra, c, t - late, w, horizon, 12);
      if (i % 3 === 0) b = addEvent(b, `c${Math.floor(rnd() * 40)}`, t, 1, horizon, 8);
      expect(a.ids).toEqual([...ra.weights.keys()]);
      expect(a.weights).toEqual([...ra.weights.values()]);
      expect(a.anchorTimeMs).toBe(ra.anchorTimeMs);
      expect([...shares(a)]).toEqual([...shares(histogramOf(ra.anchorTimeMs, ra.weights))]);
      const viaMaps = shares(b).size > 0 ? jensenShannon(shares(a), shares(b)) : 0;
      expect(histogramDivergence(a, b)).toBe(viaMaps);
    }
    expect(histogramDivergence(a, EMPTY_HISTOGRAM)).toBe(0);
    expect(histogramDivergence(EMPTY_HISTOGRAM, a)).toBe(0);
  });
});
