import { averagePrecision, jsDivergence, prf, quantile, rocAuc, rocCurve } from '../../../src/eval/metrics';

describe('evaluation metrics', () => {
  it('ROC AUC is the probability that a positive outranks a negative, ties counting half', () => {
    expect(rocAuc([0.9, 0.8, 0.2, 0.1], [true, true, false, false])).toBe(1);
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [true, true, false, false])).toBe(0);
    expect(rocAuc([0.5, 0.5, 0.5, 0.5], [true, false, true, false])).toBe(0.5);
    // 3 positives × 2 negatives; pairs won: (0.9>0.3,0.9>0.6),(0.7>0.3,0.7>0.6),(0.4>0.3) = 5 of 6.
    expect(rocAuc([0.9, 0.7, 0.4, 0.3, 0.6], [true, true, true, false, false])).toBeCloseTo(5 / 6, 12);
    expect(rocAuc([1, 2], [true, true])).toBeNaN();
  });

  it('average precision follows the ranking', () => {
    expect(averagePrecision([0.9, 0.8, 0.1], [true, true, false])).toBe(1);
    // Ranking: +, -, + → precision at the positives 1 and 2/3.
    expect(averagePrecision([0.9, 0.8, 0.7], [true, false, true])).toBeCloseTo((1 + 2 / 3) / 2, 12);
  });

  it('ROC curve runs from (0,0) to (1,1) and is monotone', () => {
    const scores = Array.from({ length: 500 }, (_, i) => (i * 7919) % 101);
    const labels = scores.map((s, i) => (s + (i % 13)) % 3 === 0);
    const { fpr, tpr } = rocCurve(scores, labels, 50);
    expect(fpr.length).toBeLessThanOrEqual(50);
    expect([fpr[0], tpr[0]]).toEqual([0, 0]);
    expect([fpr[fpr.length - 1], tpr[tpr.length - 1]]).toEqual([1, 1]);
    for (let i = 1; i < fpr.length; i++) {
      expect(fpr[i] as number).toBeGreaterThanOrEqual(fpr[i - 1] as number);
      expect(tpr[i] as number).toBeGreaterThanOrEqual(tpr[i - 1] as number);
    }
  });

  it('JS divergence is 0 for equal and 1 bit for disjoint distributions', () => {
    const a = new Map([
      ['x', 2],
      ['y', 2],
    ]);
    expect(
      jsDivergence(
        a,
        new Map([
          ['x', 5],
          ['y', 5],
        ]),
      ),
    ).toBeCloseTo(0, 12);
    expect(jsDivergence(a, new Map([['z', 1]]))).toBeCloseTo(1, 12);
  });

  it('quantiles interpolate; precision/recall/F1 never divide by zero', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([], 0.5)).toBeNaN();
    expect(prf(0, 0, 0)).toEqual({ precision: 0, recall: 0, f1: 0 });
    const r = prf(3, 4, 6);
    expect(r.precision).toBe(0.75);
    expect(r.recall).toBe(0.5);
    expect(r.f1).toBeCloseTo(0.6, 12);
  });
});
