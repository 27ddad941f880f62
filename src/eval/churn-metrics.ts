/**
 * Churn scoring points are not independent: each user is scored at every checkpoint, so a pooled
 * ROC AUC mixes two questions. These split it and put an interval on it. Pure.
 *   - between users: at the same checkpoint, is a user about to go quiet ranked above an active
 *     one (AUC per checkpoint, pooled by its number of positive × negative pairs);
 *   - within users: for one user, are the moments before a quiet spell ranked above the others
 *     (AUC per user, pooled the same way);
 *   - a user-clustered bootstrap interval of the pooled AUC (users resampled with all their
 *     points);
 *   - calibration of a probability score: Brier score and a reliability table.
 */
import { bootstrapInterval } from './bootstrap';
import type { Interval } from './bootstrap';
import { rocAuc } from './metrics';

export interface ScoringPoint {
  readonly user: string;
  /** Checkpoint, event time ms. */
  readonly atMs: number;
  readonly label: boolean;
}

/** AUC of `scores` within each group, averaged with weights positives × negatives; NaN if no group has both. */
export function groupedAuc(
  scores: readonly number[],
  labels: readonly boolean[],
  groupOf: (i: number) => string | number,
): number {
  const groups = new Map<string | number, number[]>();
  for (let i = 0; i < scores.length; i++) {
    const g = groupOf(i);
    const l = groups.get(g);
    if (l) l.push(i);
    else groups.set(g, [i]);
  }
  let weighted = 0;
  let weight = 0;
  for (const idx of groups.values()) {
    const pos = idx.filter((i) => labels[i]).length;
    const neg = idx.length - pos;
    if (pos === 0 || neg === 0) continue;
    const auc = rocAuc(
      idx.map((i) => scores[i] as number),
      idx.map((i) => labels[i] as boolean),
    );
    weighted += auc * pos * neg;
    weight += pos * neg;
  }
  return weight > 0 ? weighted / weight : NaN;
}

/** Indices of the scoring points of each user. */
function usersOf(points: readonly ScoringPoint[]): number[][] {
  const byUser = new Map<string, number[]>();
  points.forEach((p, i) => {
    const l = byUser.get(p.user);
    if (l) l.push(i);
    else byUser.set(p.user, [i]);
  });
  return [...byUser.values()];
}

/**
 * Percentile bootstrap over users (each with all its points) of `stat` applied to the ROC AUC of
 * every score list on the resample; NaN for a resample with one class only.
 */
function aucOverUsers(
  points: readonly ScoringPoint[],
  scoreLists: readonly (readonly number[])[],
  stat: (aucs: number[]) => number,
  resamples: number,
  seed: number,
): Interval {
  return bootstrapInterval(
    usersOf(points),
    (sample) => {
      const picked = sample.flat();
      const l = picked.map((i) => (points[i] as ScoringPoint).label);
      const pos = l.filter(Boolean).length;
      if (pos === 0 || pos === l.length) return NaN;
      return stat(
        scoreLists.map((s) =>
          rocAuc(
            picked.map((i) => s[i] as number),
            l,
          ),
        ),
      );
    },
    { resamples, seed },
  );
}

/** Pooled ROC AUC with a 95 % interval from resampling users (each with all its points). */
export function userClusteredAuc(
  scores: readonly number[],
  points: readonly ScoringPoint[],
  resamples = 400,
  seed = 7,
): Interval {
  return aucOverUsers(points, [scores], ([auc]) => auc as number, resamples, seed);
}

/**
 * ROC AUC of `a` minus that of `b` on the same scoring points, users resampled with both scores
 * together: the interval of the difference, far narrower than comparing two separate intervals.
 */
export function pairedAucDifference(
  a: readonly number[],
  b: readonly number[],
  points: readonly ScoringPoint[],
  resamples = 400,
  seed = 7,
): Interval {
  return aucOverUsers(points, [a, b], ([x, y]) => (x as number) - (y as number), resamples, seed);
}

export interface ReliabilityBin {
  readonly from: number;
  readonly to: number;
  readonly points: number;
  readonly meanPredicted: number;
  readonly observedRate: number;
}

/** Brier score and a 10-bin reliability table of a probability score. */
export function calibrationOf(
  probabilities: readonly number[],
  labels: readonly boolean[],
  bins = 10,
): { brier: number; bins: ReliabilityBin[] } {
  let brier = 0;
  const acc = Array.from({ length: bins }, () => ({ n: 0, p: 0, y: 0 }));
  probabilities.forEach((p, i) => {
    const y = labels[i] ? 1 : 0;
    brier += (p - y) ** 2;
    const b = acc[Math.min(bins - 1, Math.max(0, Math.floor(p * bins)))] as {
      n: number;
      p: number;
      y: number;
    };
    b.n++;
    b.p += p;
    b.y += y;
  });
  return {
    brier: probabilities.length ? brier / probabilities.length : NaN,
    bins: acc.map((b, k) => ({
      from: k / bins,
      to: (k + 1) / bins,
      points: b.n,
      meanPredicted: b.n ? b.p / b.n : NaN,
      observedRate: b.n ? b.y / b.n : NaN,
    })),
  };
}
