import {
  calibrationOf,
  groupedAuc,
  pairedAucDifference,
  userClusteredAuc,
} from '../../../src/eval/churn-metrics';
import type { ScoringPoint } from '../../../src/eval/churn-metrics';

describe('churn metrics', () => {
  it('separates ranking between users from ranking within a user', () => {
    // Two checkpoints, two users; a goes quiet after checkpoint 1, b after checkpoint 2.
    const points: ScoringPoint[] = [
      { user: 'a', atMs: 1, label: true },
      { user: 'b', atMs: 1, label: false },
      { user: 'a', atMs: 2, label: false },
      { user: 'b', atMs: 2, label: true },
    ];
    const labels = points.map((p) => p.label);
    const byTime = (i: number): number => (points[i] as ScoringPoint).atMs;
    const byUser = (i: number): string => (points[i] as ScoringPoint).user;
    // Ranks each user's own quiet moment higher, but a above b at every checkpoint.
    const timing = [0.9, 0.1, 0.8, 0.2];
    expect(groupedAuc(timing, labels, byUser)).toBe(1);
    expect(groupedAuc(timing, labels, byTime)).toBeCloseTo(0.5, 12);
    // A per-user constant (who the user is, not when): no within-user information.
    const who = [0.9, 0.1, 0.9, 0.1];
    expect(groupedAuc(who, labels, byUser)).toBeCloseTo(0.5, 12);
  });

  it('gives a user-clustered interval around the pooled AUC', () => {
    const points: ScoringPoint[] = [];
    const scores: number[] = [];
    for (let u = 0; u < 60; u++)
      for (let t = 0; t < 10; t++) {
        const label = (u * 7 + t) % 5 === 0;
        points.push({ user: `u${u}`, atMs: t, label });
        scores.push(label ? 0.6 + ((u + t) % 4) * 0.1 : 0.3 + ((u * t) % 5) * 0.1);
      }
    const ci = userClusteredAuc(scores, points, 200, 3);
    expect(ci.lo).toBeLessThanOrEqual(ci.estimate);
    expect(ci.hi).toBeGreaterThanOrEqual(ci.estimate);
    expect(ci.estimate).toBeGreaterThan(0.7);
  });

  it('computes the Brier score and reliability bins', () => {
    const c = calibrationOf([0.05, 0.05, 0.95, 0.95], [false, false, true, false]);
    expect(c.brier).toBeCloseTo((0.05 ** 2 * 2 + 0.05 ** 2 + 0.95 ** 2) / 4, 12);
    const low = c.bins[0];
    const high = c.bins[9];
    expect(low).toMatchObject({ points: 2, observedRate: 0 });
    expect(high).toMatchObject({ points: 2, observedRate: 0.5 });
  });

  it('gives the interval of a paired AUC difference: 0 for the same score, > 0 for a better one', () => {
    const points: ScoringPoint[] = [];
    const good: number[] = [];
    const noisy: number[] = [];
    for (let u = 0; u < 30; u++)
      for (let t = 0; t < 8; t++) {
        const label = (u * 3 + t) % 4 === 0;
        points.push({ user: `u${u}`, atMs: t, label });
        good.push((label ? 1 : 0) + ((u * 7 + t * 13) % 10) / 20);
        noisy.push(((u * 7 + t * 13) % 10) / 10 + (label ? 0.2 : 0));
      }
    const same = pairedAucDifference(good, good, points);
    expect([same.estimate, same.lo, same.hi]).toEqual([0, 0, 0]);
    const better = pairedAucDifference(good, noisy, points);
    expect(better.estimate).toBeGreaterThan(0);
    expect(better.lo).toBeGreaterThan(0);
  });
});
