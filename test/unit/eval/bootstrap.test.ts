import {
  bootstrapInterval,
  detectionIntervals,
  migrationOutcomes,
  pairedDetectionDifference,
} from '../../../src/eval/bootstrap';
import type { Alert, UserTruth } from '../../../src/eval/migration-scoring';
import { scoreDetections } from '../../../src/eval/migration-scoring';
import { rng } from '../../../src/sim/simulator';

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('bootstrapInterval', () => {
  it('brackets the estimate, narrows with more units, and is reproducible for a seed', () => {
    const r = rng(3);
    const small = Array.from({ length: 50 }, () => (r() < 0.4 ? 1 : 0));
    const large = Array.from({ length: 5000 }, () => (r() < 0.4 ? 1 : 0));
    const a = bootstrapInterval(small, mean, { seed: 9 });
    const b = bootstrapInterval(large, mean, { seed: 9, resamples: 400 });
    expect(a.lo).toBeLessThanOrEqual(a.estimate);
    expect(a.hi).toBeGreaterThanOrEqual(a.estimate);
    expect(b.hi - b.lo).toBeLessThan((a.hi - a.lo) / 4);
    expect(bootstrapInterval(small, mean, { seed: 9 })).toEqual(a);
    // A binomial proportion near 0.4 with n = 5,000: half-width ≈ 1.96·sqrt(.24/5000) ≈ 0.0136.
    expect((b.hi - b.lo) / 2).toBeGreaterThan(0.009);
    expect((b.hi - b.lo) / 2).toBeLessThan(0.018);
  });

  it('covers the true value about 95 % of the time', () => {
    const r = rng(11);
    let covered = 0;
    const trials = 120;
    for (let t = 0; t < trials; t++) {
      const xs = Array.from({ length: 200 }, () => (r() < 0.3 ? 1 : 0));
      const ci = bootstrapInterval(xs, mean, { seed: t, resamples: 300 });
      if (ci.lo <= 0.3 && 0.3 <= ci.hi) covered++;
    }
    expect(covered / trials).toBeGreaterThan(0.88);
    expect(covered / trials).toBeLessThanOrEqual(1);
  });

  it('leaves out resamples where the statistic is undefined', () => {
    const ci = bootstrapInterval([1, 0, 0, 0], (s) => (s.includes(1) ? mean(s) : NaN), { seed: 1 });
    expect(Number.isFinite(ci.lo)).toBe(true);
    expect(ci.lo).toBeGreaterThan(0);
  });
});

describe('migration outcomes and intervals', () => {
  const truth = new Map<string, UserTruth>([
    ['m1', { positive: true, changeTimeMs: 100, changeIndex: 5, events: 20, spanMs: 1000 }],
    ['m2', { positive: true, changeTimeMs: 100, changeIndex: 5, events: 20, spanMs: 1000 }],
    ['s1', { positive: false, changeTimeMs: 0, changeIndex: -1, events: 20, spanMs: 1000 }],
    ['s2', { positive: false, changeTimeMs: 0, changeIndex: -1, events: 20, spanMs: 1000 }],
  ]);
  const alerts: Alert[] = [
    { userId: 'm1', eventTimeMs: 50, eventIndex: 2 }, // before the change: a false alarm
    { userId: 'm1', eventTimeMs: 150, eventIndex: 7 }, // caught
    { userId: 's1', eventTimeMs: 150, eventIndex: 7 },
    { userId: 'unknown', eventTimeMs: 150, eventIndex: 7 }, // no truth: ignored
  ];

  it('agrees with scoreDetections on the full sample', () => {
    const score = scoreDetections(truth, alerts);
    const ci = detectionIntervals(migrationOutcomes(truth, alerts), { seed: 2, resamples: 200 });
    expect(ci.recall.estimate).toBeCloseTo(score.recall, 12);
    expect(ci.stableAlertRate.estimate).toBeCloseTo(score.falseAlarmUserRate, 12);
    expect(ci.precision.estimate).toBeCloseTo(score.precision, 12);
    expect(ci.f1.estimate).toBeCloseTo(score.f1, 12);
  });

  it('pairs two detectors by user: identical outcomes differ by exactly 0, a better one by more than 0', () => {
    const a = migrationOutcomes(truth, alerts);
    const same = pairedDetectionDifference(a, a, { seed: 3, resamples: 300 });
    for (const k of ['recall', 'f1', 'stableAlertRate'] as const) {
      expect(same[k].estimate).toBe(0);
      expect([same[k].lo, same[k].hi]).toEqual([0, 0]);
    }
    // b catches nothing: every resample with a caught mover in it has a positive recall difference.
    const b = migrationOutcomes(
      truth,
      alerts.filter((x) => x.userId !== 'm1'),
    );
    const d = pairedDetectionDifference(a, b, { seed: 3, resamples: 300 });
    expect(d.recall.estimate).toBeCloseTo(0.5, 12);
    expect(d.recall.lo).toBeGreaterThanOrEqual(0);
    expect(d.recall.hi).toBeGreaterThan(0);
    expect(() => pairedDetectionDifference(a, a.slice(1))).toThrow(/same users/);
  });
});
