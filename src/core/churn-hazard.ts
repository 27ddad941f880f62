/**
 * Learned churn hazard: the probability that a user has NO event within the horizon (24 h) after
 * time `atMs`, from what the state holds at that moment. A logistic model over standardised
 * features, trained on checkpoints of the TRAIN users (onnx/train_churn_hazard.py); its inputs
 * include idle time itself, so the risk of an idle user is the model's answer at that idle time,
 * not an exponential applied afterwards.
 *
 * Why these features: idle time and frequency are the strong simple rules; the user's own rhythm
 * tells them apart (a weekly shopper quiet for two days is not a daily shopper quiet for two
 * days). The rhythm is read from the window's session gaps (gaps > 30 min): of the gaps longer
 * than the current idle time, the share that also lasted another horizon is an empirical
 * survival estimate for this user.
 *
 * Pure and deterministic. Units: ms for times, hours and days where the names say so.
 */
import type { ChurnState } from './churn-state';
import { SESSION_GAP_MS } from './types';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

export const HAZARD_FEATURES = [
  'log1p_idle_hours',
  'log1p_event_count',
  'days_since_first_event',
  'events_per_day',
  'log1p_recent_rate_per_day',
  'log1p_baseline_rate_per_day',
  'log_rate_ratio',
  'window_gap_survival',
  'log1p_window_gaps_longer_than_idle',
  'window_sessions_per_day',
  'encoder_inactivity_logit',
] as const;

/** What the features depend on besides the state (the rate half-lives are the state's own). */
export interface HazardSpec {
  /** The label's horizon: no event within this long after the checkpoint, ms. */
  readonly horizonMs: number;
  readonly recentRateHalfLifeMs: number;
  readonly baselineRateHalfLifeMs: number;
}

/** Learned weights (onnx/train_churn_hazard.py, stored as JSON). */
export interface ChurnHazardWeights extends HazardSpec, LogisticWeights {
  readonly version: string;
  /** Must equal HAZARD_FEATURES. */
  readonly features: readonly string[];
  /**
   * Suggested LOW, MEDIUM, HIGH thresholds: the probabilities reached by 20 %, 10 % and 5 % of the
   * training checkpoints (config may override).
   */
  readonly levelThresholds?: readonly [number, number, number];
  /** The evaluation's baseline fitted by the same trainer on recency/frequency features only. */
  readonly baseline?: LogisticWeights & { readonly name: string };
}

export interface LogisticWeights {
  /** z = (clamp(x) − mean) / scale; logit = intercept + Σ coef · z. */
  readonly mean: readonly number[];
  readonly scale: readonly number[];
  readonly coef: readonly number[];
  readonly intercept: number;
  /**
   * The range of each feature over the training checkpoints; a feature is clamped into it before
   * scoring. Why: the model is linear in its features and was fitted on a 9-day sample, so a
   * feature past what it saw is extrapolated without limit. `days_since_first_event` (train
   * range 0–7.75 days, coefficient −0.36 per 2.1 days) gave a daily shopper with 30 days of
   * history P = 0.007 after 30 h idle and one with 90 days P ≈ 0: users with a long history were
   * never alerted. Absent in weights written before 2026-11-28: no clamping.
   */
  readonly lower?: readonly number[];
  readonly upper?: readonly number[];
}

/** Decayed-count rate per day at time t, from a rate anchored at `anchorMs`. */
export function decayedRate(ratePerDay: number, anchorMs: number, t: number, halfLifeMs: number): number {
  return t <= anchorMs ? ratePerDay : ratePerDay * Math.pow(2, -(t - anchorMs) / halfLifeMs);
}

/** What the hazard reads of a UserState (structurally; user-state.ts imports this module). */
export interface HazardInput {
  readonly eventCount: number;
  readonly firstEventTimeMs: number;
  readonly lastEventTimeMs: number;
  /** Last events, oldest first: their event times (epoch ms) are what the hazard reads. */
  readonly window: { readonly times: readonly number[] };
  readonly churn: Pick<ChurnState, 'recentRatePerDay' | 'baselineRatePerDay' | 'inactivityProbability'>;
}

/**
 * The features of `s` scored at event time `atMs` (≥ its last event), in HAZARD_FEATURES order.
 * A plain array, not a Float64Array: 11 doubles are over V8's 64-byte limit for typed arrays kept
 * on the heap, and an off-heap one cost about 0.9 µs to allocate on node 24 (the service calls
 * this once per event and once per timer fired). Written into `out` (a fresh array unless given).
 */
export function hazardFeatures(
  s: HazardInput,
  atMs: number,
  w: HazardSpec,
  out: number[] = new Array<number>(HAZARD_FEATURES.length),
): number[] {
  const idleMs = Math.max(0, atMs - s.lastEventTimeMs);
  const idleHours = idleMs / HOUR_MS;
  const days = Math.max(0, atMs - s.firstEventTimeMs) / DAY_MS;
  const recent = decayedRate(s.churn.recentRatePerDay, s.lastEventTimeMs, atMs, w.recentRateHalfLifeMs);
  const baseline = decayedRate(s.churn.baselineRatePerDay, s.lastEventTimeMs, atMs, w.baselineRateHalfLifeMs);
  let sessionGaps = 0;
  let longer = 0;
  let survived = 0;
  const times = s.window.times;
  for (let i = 1; i < times.length; i++) {
    const gap = (times[i] as number) - (times[i - 1] as number);
    if (gap <= SESSION_GAP_MS) continue;
    sessionGaps++;
    if (gap > idleMs) {
      longer++;
      if (gap > idleMs + w.horizonMs) survived++;
    }
  }
  const windowDays = times.length > 0 ? Math.max(0, atMs - (times[0] as number)) / DAY_MS : 0;
  const p = Math.min(1 - 1e-6, Math.max(1e-6, s.churn.inactivityProbability));
  out[0] = Math.log1p(idleHours);
  out[1] = Math.log1p(s.eventCount);
  out[2] = days;
  out[3] = s.eventCount / (days + 1);
  out[4] = Math.log1p(recent);
  out[5] = Math.log1p(baseline);
  out[6] = Math.log1p(recent) - Math.log1p(baseline);
  out[7] = (survived + 0.5) / (longer + 1);
  out[8] = Math.log1p(longer);
  out[9] = (sessionGaps + 1) / (windowDays + 1);
  out[10] = Math.log(p / (1 - p));
  return out;
}

/** P(no event within the horizon after atMs); features outside the training range are clamped into it. */
export function hazardProbability(w: LogisticWeights, features: ArrayLike<number>): number {
  const { lower, upper } = w;
  let z = w.intercept;
  for (let i = 0; i < features.length; i++) {
    let x = features[i] as number;
    if (lower && upper) x = Math.min(upper[i] as number, Math.max(lower[i] as number, x));
    z += ((x - (w.mean[i] as number)) / (w.scale[i] as number)) * (w.coef[i] as number);
  }
  return 1 / (1 + Math.exp(-z));
}

/** hazardRisk's features, overwritten by each call before they are read (no allocation per score). */
const scratch = new Array<number>(HAZARD_FEATURES.length).fill(0);

export function hazardRisk(w: ChurnHazardWeights, s: HazardInput, atMs: number): number {
  return hazardProbability(w, hazardFeatures(s, atMs, w, scratch));
}

/**
 * Idle times (hours) at which an idle user is re-scored. The risk has no closed-form crossing
 * time, so timers walk this ladder instead: a level is raised at the first rung where the risk
 * reaches it (at most a few hours late early on, a day late after three days).
 */
export const RESCORE_IDLE_HOURS = [
  1, 2, 3, 4, 6, 8, 12, 16, 20, 24, 30, 36, 48, 60, 72, 96, 120, 144, 168, 240, 336,
];

/** Event time of the next re-score after `atMs` for a user last active at `lastEventTimeMs`; 0 = none. */
export function nextRescoreMs(lastEventTimeMs: number, atMs: number): number {
  for (const h of RESCORE_IDLE_HOURS) {
    const t = lastEventTimeMs + h * HOUR_MS;
    if (t > atMs) return t;
  }
  return 0;
}

/** Checks a parsed weights object against this code's feature list and shapes. */
export function checkHazardWeights(w: ChurnHazardWeights): string[] {
  const problems: string[] = [];
  const nf = HAZARD_FEATURES.length;
  if (w.features.join(',') !== HAZARD_FEATURES.join(','))
    problems.push(`features should be ${HAZARD_FEATURES.join(',')}`);
  if (w.mean.length !== nf || w.scale.length !== nf || w.coef.length !== nf)
    problems.push(`mean, scale and coef need ${nf} entries`);
  if (w.scale.some((x) => !(x > 0))) problems.push('scale entries must be > 0');
  for (const [name, l] of [
    ['', w],
    ['baseline ', w.baseline],
  ] as const) {
    if (!l || (l.lower === undefined && l.upper === undefined)) continue;
    const lo = l.lower ?? [];
    const hi = l.upper ?? [];
    if (lo.length !== nf || hi.length !== nf) problems.push(`${name}lower and upper need ${nf} entries each`);
    else if (lo.some((x, i) => !(Number.isFinite(x) && Number.isFinite(hi[i]) && x <= (hi[i] as number))))
      problems.push(`${name}lower must be finite and ≤ upper, entry by entry`);
  }
  for (const k of ['horizonMs', 'recentRateHalfLifeMs', 'baselineRateHalfLifeMs'] as const)
    if (!(w[k] > 0)) problems.push(`${k} must be > 0`);
  if (!Number.isFinite(w.intercept)) problems.push('intercept must be a number');
  const t = w.levelThresholds;
  if (t !== undefined && !(t.length === 3 && t[0] > 0 && t[0] < t[1] && t[1] < t[2] && t[2] < 1))
    problems.push('levelThresholds must be three increasing numbers in (0, 1)');
  return problems;
}
