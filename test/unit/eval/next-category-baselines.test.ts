import type { DatasetRow } from '../../../src/io/datasets';
import { isInSessionRepeat, nextCategoryBaselines } from '../../../src/eval/next-category-baselines';

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
