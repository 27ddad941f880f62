/**
 * User-level bootstrap intervals. The unit is the user: a user's events (and alerts) are not
 * independent, so resampling events or scoring points would understate the uncertainty. Pure and
 * deterministic (seeded), so a report regenerates the same intervals.
 */
import { rng } from '../sim/simulator';
import type { Alert, UserTruth } from './migration-scoring';

export interface Interval {
  /** The statistic on the full sample. */
  readonly estimate: number;
  /** Percentile interval bounds over the resamples (NaN when no resample had a value). */
  readonly lo: number;
  readonly hi: number;
}

export interface BootstrapOptions {
  readonly resamples?: number;
  readonly seed?: number;
  /** Coverage of the interval (0.95 = 2.5th to 97.5th percentile). */
  readonly level?: number;
}

/**
 * Percentile bootstrap of `stat` over `units` resampled with replacement. Resamples where the
 * statistic is undefined (NaN, e.g. no positive user drawn) are left out.
 */
export function bootstrapInterval<T>(
  units: readonly T[],
  stat: (sample: readonly T[]) => number,
  o: BootstrapOptions = {},
): Interval {
  const resamples = o.resamples ?? 1000;
  const level = o.level ?? 0.95;
  const r = rng(o.seed ?? 1);
  const estimate = stat(units);
  const values: number[] = [];
  const sample: T[] = new Array<T>(units.length);
  for (let b = 0; b < resamples && units.length > 0; b++) {
    for (let i = 0; i < units.length; i++) sample[i] = units[Math.floor(r() * units.length)] as T;
    const v = stat(sample);
    if (Number.isFinite(v)) values.push(v);
  }
  if (values.length === 0) return { estimate, lo: NaN, hi: NaN };
  values.sort((a, b) => a - b);
  const at = (q: number): number =>
    values[Math.min(values.length - 1, Math.max(0, Math.floor(q * values.length)))] as number;
  return { estimate, lo: at((1 - level) / 2), hi: at(1 - (1 - level) / 2) };
}

/** What one scored user contributes to the migration metrics (same rules as scoreDetections). */
export interface MigrationOutcome {
  readonly positive: boolean;
  /** A positive user alerted at or after the change. */
  readonly caught: boolean;
  /** A stable user with at least one alert. */
  readonly stableAlerted: boolean;
  readonly alerts: number;
}

export function migrationOutcomes(
  truth: ReadonlyMap<string, UserTruth>,
  alerts: readonly Alert[],
): MigrationOutcome[] {
  const byUser = new Map<string, Alert[]>();
  for (const a of alerts) {
    if (!truth.has(a.userId)) continue;
    const l = byUser.get(a.userId);
    if (l) l.push(a);
    else byUser.set(a.userId, [a]);
  }
  return [...truth].map(([u, t]) => {
    const mine = byUser.get(u) ?? [];
    return {
      positive: t.positive,
      caught: t.positive && mine.some((a) => a.eventTimeMs >= t.changeTimeMs),
      stableAlerted: !t.positive && mine.length > 0,
      alerts: mine.length,
    };
  });
}

export interface DetectionIntervals {
  readonly recall: Interval;
  /** Share of stable users alerted. */
  readonly stableAlertRate: Interval;
  readonly precision: Interval;
  readonly f1: Interval;
}

const ratio = (n: number, d: number): number => (d > 0 ? n / d : NaN);

function rates(sample: readonly MigrationOutcome[]): {
  recall: number;
  stable: number;
  precision: number;
  f1: number;
} {
  let pos = 0;
  let caught = 0;
  let neg = 0;
  let stableAlerted = 0;
  let alerts = 0;
  for (const o of sample) {
    if (o.positive) {
      pos++;
      if (o.caught) caught++;
    } else {
      neg++;
      if (o.stableAlerted) stableAlerted++;
    }
    alerts += o.alerts;
  }
  const recall = ratio(caught, pos);
  const precision = alerts > 0 ? caught / alerts : 0;
  const f1 = recall + precision > 0 ? (2 * recall * precision) / (recall + precision) : 0;
  return { recall, stable: ratio(stableAlerted, neg), precision, f1 };
}

/** 95 % user-level bootstrap intervals of recall, stable-alert rate, precision and F1. */
export function detectionIntervals(
  outcomes: readonly MigrationOutcome[],
  o: BootstrapOptions = {},
): DetectionIntervals {
  return {
    recall: bootstrapInterval(outcomes, (s) => rates(s).recall, o),
    stableAlertRate: bootstrapInterval(outcomes, (s) => rates(s).stable, o),
    precision: bootstrapInterval(outcomes, (s) => rates(s).precision, o),
    f1: bootstrapInterval(outcomes, (s) => rates(s).f1, o),
  };
}

export interface PairedDetectionDifference {
  /** a − b, users resampled in pairs. */
  readonly recall: Interval;
  readonly f1: Interval;
  readonly stableAlertRate: Interval;
}

/**
 * Two detectors on the SAME users (outcomes in the same user order, e.g. migrationOutcomes over
 * one truth map): the difference a − b of recall, F1 and stable-alert rate, each resample drawing
 * users and keeping both detectors' outcomes for them, so shared difficulty cancels out.
 */
export function pairedDetectionDifference(
  a: readonly MigrationOutcome[],
  b: readonly MigrationOutcome[],
  o: BootstrapOptions = {},
): PairedDetectionDifference {
  if (a.length !== b.length || a.some((x, i) => x.positive !== b[i]?.positive))
    throw new Error('paired outcomes must cover the same users in the same order');
  const pairs = a.map((x, i) => [x, b[i] as MigrationOutcome] as const);
  const diff =
    (f: (r: ReturnType<typeof rates>) => number) =>
    (sample: readonly (readonly [MigrationOutcome, MigrationOutcome])[]): number =>
      f(rates(sample.map((p) => p[0]))) - f(rates(sample.map((p) => p[1])));
  return {
    recall: bootstrapInterval(
      pairs,
      diff((r) => r.recall),
      o,
    ),
    f1: bootstrapInterval(
      pairs,
      diff((r) => r.f1),
      o,
    ),
    stableAlertRate: bootstrapInterval(
      pairs,
      diff((r) => r.stable),
      o,
    ),
  };
}
