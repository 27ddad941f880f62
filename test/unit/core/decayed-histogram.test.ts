import {
  EMPTY_HISTOGRAM,
  addEvent,
  entropyBits,
  jensenShannon,
  shares,
  topShares,
} from '../../../src/core/decayed-histogram';

const perEvent = { halfLifeEvents: 2, halfLifeMs: 0 };

describe('decayed histogram', () => {
  it('halves old weight every halfLifeEvents events', () => {
    let h = addEvent(EMPTY_HISTOGRAM, 'a', 0, 1, perEvent, 10);
    h = addEvent(h, 'b', 1, 1, perEvent, 10);
    h = addEvent(h, 'b', 2, 1, perEvent, 10);
    expect(h.weights.get('a')).toBeCloseTo(0.5, 12); // decayed by 2^(−1/2) at each of the two later events
    expect(shares(h).get('b')).toBeGreaterThan(shares(h).get('a') as number);
  });

  it('decays in event time when a time half-life is set, and weighs a late event by its age', () => {
    const horizon = { halfLifeEvents: 1e12, halfLifeMs: 1000 };
    let h = addEvent(EMPTY_HISTOGRAM, 'a', 0, 1, horizon, 10);
    h = addEvent(h, 'b', 2000, 1, horizon, 10);
    expect(h.weights.get('a')).toBeCloseTo(0.25, 6);
    h = addEvent(h, 'c', 1000, 1, horizon, 10); // late by 1 s: half weight
    expect(h.weights.get('c')).toBeCloseTo(0.5, 6);
    expect(h.anchorTimeMs).toBe(2000);
  });

  it('keeps at most maxCategories, dropping the smallest', () => {
    let h = EMPTY_HISTOGRAM;
    for (const c of ['a', 'b', 'c', 'd']) h = addEvent(h, c, 0, c === 'a' ? 5 : 1, perEvent, 2);
    expect([...h.weights.keys()].sort()).toEqual(['a', 'd']);
  });

  it('computes JS divergence in [0, 1]: 0 for equal, 1 for disjoint', () => {
    const p = new Map([
      ['a', 0.5],
      ['b', 0.5],
    ]);
    expect(jensenShannon(p, p)).toBeCloseTo(0, 12);
    expect(jensenShannon(p, new Map([['c', 1]]))).toBeCloseTo(1, 12);
    expect(entropyBits(p)).toBeCloseTo(1, 12);
    expect(
      topShares(
        {
          anchorTimeMs: 0,
          weights: new Map([
            ['x', 1],
            ['y', 3],
          ]),
        },
        1,
      ),
    ).toEqual([{ categoryId: 'y', share: 0.75 }]);
  });

  it('keeps weights in category-id order, and shares do not depend on the order a map holds', () => {
    let h = EMPTY_HISTOGRAM;
    for (const [i, c] of ['m', 'c', 'x', 'c', 'a', 'q', 'm', 'b'].entries())
      h = addEvent(h, c, i, 1 + i / 7, perEvent, 10);
    expect([...h.weights.keys()]).toEqual(['a', 'b', 'c', 'm', 'q', 'x']);
    // A map in another order (e.g. decoded from an older state version) gives bit-identical shares.
    const shuffled = { anchorTimeMs: h.anchorTimeMs, weights: new Map([...h.weights].reverse()) };
    expect([...shares(shuffled)]).toEqual([...shares(h)]);
    expect([...shares(shuffled).keys()]).toEqual(['a', 'b', 'c', 'm', 'q', 'x']);
    // Divergence and entropy over a partly overlapping pair: the same bits in any map order.
    const other = addEvent(addEvent(EMPTY_HISTOGRAM, 'c', 0, 2, perEvent, 10), 'z', 1, 1, perEvent, 10);
    const rev = (m: Map<string, number>): Map<string, number> => new Map([...m].reverse());
    const js = jensenShannon(shares(h), shares(other));
    expect(js).toBeGreaterThan(0);
    expect(jensenShannon(rev(shares(h)), rev(shares(other)))).toBe(js);
    expect(jensenShannon(shares(other), shares(h))).toBeCloseTo(js, 14);
    expect(entropyBits(rev(shares(h)))).toBe(entropyBits(shares(h)));
  });
});
