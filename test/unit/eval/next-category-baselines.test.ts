import type { DatasetRow } from '../../../src/io/datasets';
import {
  TopKAccumulator,
  isInSessionRepeat,
  nextCategoryBaselines,
  pairedDifference,
} from '../../../src/eval/next-category-baselines';

const MIN = 60_000;
const row = (userId: string, categoryId: string, t: number): DatasetRow =>
  ({ userId, itemId: 'i', categoryId, kind: 'view', eventTimeMs: t }) as DatasetRow;

describe('next-category baselines', () => {
  it('score only from earlier events, with the right lists', () => {
    // u: a a b a → targets a (pos 1), b (pos 2), a (pos 3).
    const rows = [row('u', 'a', 0), row('u', 'a', MIN), row('u', 'b', 2 * MIN), row('u', 'a', 3 * MIN)];
    const [freq, last, , pop] = nextCategoryBaselines(rows);
    // most frequent: [a] → hit a@0; [a] (+popularity a) → b missed... popularity fill adds nothing new; [a, b] → a@0
    expect(freq?.all).toMatchObject({ positions: 3 });
    expect(freq?.all.hrAt10).toBeCloseTo(2 / 3, 12);
    // last: [a] hit; [a] miss b; [b, a] → a at rank 1
    expect(last?.all.hrAt10).toBeCloseTo(2 / 3, 12);
    expect(last?.all.ndcgAt10).toBeCloseTo((1 + 1 / Math.log2(3)) / 3, 12);
    expect(pop?.all.positions).toBe(3);
  });

  it('leaves in-session repeats out of the second score', () => {
    expect(isInSessionRepeat(row('u', 'a', 0), row('u', 'a', 10 * MIN))).toBe(true);
    expect(isInSessionRepeat(row('u', 'a', 0), row('u', 'a', 45 * MIN))).toBe(false);
    expect(isInSessionRepeat(row('u', 'a', 0), row('u', 'b', MIN))).toBe(false);
    const rows = [row('u', 'a', 0), row('u', 'a', MIN), row('u', 'b', 2 * MIN)];
    const [freq] = nextCategoryBaselines(rows);
    expect(freq?.withoutRepeats.positions).toBe(1); // only the a → b step
    expect(freq?.withoutRepeats.hrAt10).toBe(0);
  });

  it('learns Markov transitions across users', () => {
    const rows = [row('v', 'x', 0), row('v', 'y', MIN), row('u', 'x', 2 * MIN), row('u', 'y', 3 * MIN)];
    const markov = nextCategoryBaselines(rows)[2];
    // v's x→y is missed (nothing learnt yet), u's x→y is hit at rank 0.
    expect(markov?.all.positions).toBe(2);
    expect(markov?.all.hrAt10).toBe(0.5);
  });
});

describe('top-10 scores per user', () => {
  /** 40 users, 10 positions each; `rank(u, i)` gives the rank at position i of user u. */
  const run = (rank: (u: number, i: number) => number): TopKAccumulator => {
    const acc = new TopKAccumulator();
    for (let u = 0; u < 40; u++) for (let i = 0; i < 10; i++) acc.add(rank(u, i), `u${u}`);
    return acc;
  };
  const base = (u: number, i: number): number => ((u * 7 + i * 3) % 4 === 0 ? 12 : (u + i) % 5);

  it('gives user-level intervals around the point estimate', () => {
    const s = run(base).score();
    expect(s.positions).toBe(400);
    expect(s.hrAt10Interval?.estimate).toBeCloseTo(s.hrAt10, 12);
    expect(s.hrAt10Interval?.lo).toBeLessThanOrEqual(s.hrAt10);
    expect(s.hrAt10Interval?.hi).toBeGreaterThanOrEqual(s.hrAt10);
    expect(new TopKAccumulator().score().hrAt10Interval).toBeUndefined();
  });

  it('pairs users: no difference for the same ranks, a clear one when one method is always better', () => {
    const same = pairedDifference(run(base), run(base));
    expect([same.hrAt10.lo, same.hrAt10.hi, same.ndcgAt10.lo, same.ndcgAt10.hi]).toEqual([0, 0, 0, 0]);
    // Better: every miss of the base becomes a hit at rank 0.
    const better = pairedDifference(
      run((u, i) => (base(u, i) >= 10 ? 0 : base(u, i))),
      run(base),
    );
    expect(better.hrAt10.lo).toBeGreaterThan(0);
    expect(better.ndcgAt10.lo).toBeGreaterThan(0);
  });
});
