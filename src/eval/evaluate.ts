/**
 * The offline evaluation: runs a dataset through the SAME topology as the live processor
 * (OfflinePipeline → PartitionProcessor → core, with the real ONNX encoder) and scores
 *   - interest migrations against per-user truth, next to encoder-free baselines;
 *   - churn-risk scores at event-time checkpoints, next to recency- and frequency-only scores;
 *   - next-category HR@10 / NDCG@10 (the definitions of onnx/model_eval.py).
 * Everything here is deterministic for a given dataset, model and parameters.
 */
import type { CoreParams } from '../core/params';
import type { NextCategoryHeadWeights } from '../core/next-category-head';
import { rankNextCategories } from '../core/next-category-head';
import { riskAt } from '../core/churn-scorer';
import { hazardFeatures, hazardProbability } from '../core/churn-hazard';
import { churnRisk } from '../core/user-state';
import type { ChurnRisk, ClickEvent, InterestMigration } from '../core/types';
import { CHURN_LEVELS } from '../core/types';
import type { UserState } from '../core/user-state';
import type { DatasetRow } from '../io/datasets';
import { rowsByUser } from '../io/datasets';
import type { Encoder } from '../model/encoder';
import type { ModelManifest } from '../model/model-manifest';
import type { SimResult } from '../sim/simulator';
import { rng } from '../sim/simulator';
import type { BaselineName, CategoryStreamDetector, Guards } from './baselines';
import { BASELINE_GRIDS, BASELINES, createBaseline, guardsOf } from './baselines';
import type { DetectionIntervals, Interval, MigrationOutcome, PairedDetectionDifference } from './bootstrap';
import type { ReliabilityBin, ScoringPoint } from './churn-metrics';
import { calibrationOf, groupedAuc, pairedAucDifference, userClusteredAuc } from './churn-metrics';
import { detectionIntervals, migrationOutcomes, pairedDetectionDifference } from './bootstrap';
import { averagePrecision, jsDivergence, rocAuc, rocCurve } from './metrics';
import type { Alert, DetectionScore, UserTruth } from './migration-scoring';
import { scoreDetections } from './migration-scoring';
import type { NextCategoryMethod, TopKScore } from './next-category-baselines';
import type { PairedDifference } from './next-category-baselines';
import {
  TopKAccumulator,
  isInSessionRepeat,
  nextCategoryBaselineRuns,
  pairedDifference,
} from './next-category-baselines';
import { OfflinePipeline, RecordingEncoder, rowsToEvents } from './offline-run';
import type { PlannedOutput } from '../pipeline/partition-processor';
import { realisedShift } from './realised-shift';
import { walkNextCategoryPositions } from './next-category-walk';

const HOUR_MS = 3_600_000;

export interface EvalSet {
  readonly name: string;
  readonly kind: 'real' | 'simulated';
  /** Event-time order. */
  readonly rows: readonly DatasetRow[];
  readonly truth: ReadonlyMap<string, UserTruth>;
  /** Churn ground truth: real data uses the inactivity proxy, simulations the quiet users. */
  readonly churnTruth:
    | { readonly kind: 'no-event-within'; readonly horizonMs: number }
    | { readonly kind: 'went-quiet'; readonly lastEventTimeMs: ReadonlyMap<string, number> };
}

/**
 * Where a shifter's interests moved: the split index (within the middle half of the history)
 * that maximises the JS divergence between the categories before and after it.
 */
export function locateChange(rows: readonly DatasetRow[]): number {
  const n = rows.length;
  const before = new Map<string, number>();
  const after = new Map<string, number>();
  for (const r of rows) after.set(r.categoryId, (after.get(r.categoryId) ?? 0) + 1);
  let best = Math.floor(n / 2);
  let bestD = -1;
  for (let i = 0; i < Math.floor((3 * n) / 4); i++) {
    const c = (rows[i] as DatasetRow).categoryId;
    before.set(c, (before.get(c) ?? 0) + 1);
    const left = (after.get(c) ?? 0) - 1;
    if (left === 0) after.delete(c);
    else after.set(c, left);
    const split = i + 1;
    if (split < Math.floor(n / 4)) continue;
    const d = jsDivergence(before, after);
    if (d > bestD) {
      bestD = d;
      best = split;
    }
  }
  return best;
}

/** Real data: truth from the realised shift (eval/realised-shift.ts); ambiguous users are left out. */
export function realEvalSet(name: string, rows: readonly DatasetRow[], horizonMs: number): EvalSet {
  const labels = realisedShift(rows);
  const users = rowsByUser(rows);
  const truth = new Map<string, UserTruth>();
  for (const [u, l] of labels) {
    if (l.label === 'ambiguous') continue;
    const list = users.get(u) as DatasetRow[];
    truth.set(u, {
      positive: l.label === 'shifter',
      changeTimeMs: l.changeTimeMs,
      changeIndex: l.label === 'shifter' ? locateChange(list) : -1,
      events: list.length,
      spanMs: spanOf(list),
    });
  }
  return { name, kind: 'real', rows, truth, churnTruth: { kind: 'no-event-within', horizonMs } };
}

/** Simulated data: injected migrations are positives; stable and quiet users are negatives. */
export function simEvalSet(name: string, sim: SimResult): EvalSet {
  const users = rowsByUser(sim.rows);
  const truth = new Map<string, UserTruth>();
  const put = (u: string, positive: boolean, changeTimeMs: number, changeIndex: number): void => {
    const list = users.get(u);
    if (!list) return;
    truth.set(u, { positive, changeTimeMs, changeIndex, events: list.length, spanMs: spanOf(list) });
  };
  for (const m of sim.migrations) put(m.userId, true, m.changeTimeMs, m.changeEventIndex);
  for (const u of sim.stableUsers) put(u, false, Infinity, -1);
  for (const q of sim.quiet) put(q.userId, false, Infinity, -1);
  return {
    name,
    kind: 'simulated',
    rows: sim.rows,
    truth,
    churnTruth: {
      kind: 'went-quiet',
      lastEventTimeMs: new Map(sim.quiet.map((q) => [q.userId, q.lastEventTimeMs])),
    },
  };
}

function spanOf(list: readonly DatasetRow[]): number {
  return (list[list.length - 1]?.eventTimeMs ?? 0) - (list[0]?.eventTimeMs ?? 0);
}

/** The alerting event's index in the user's sequence: the last event at or before the alert time. */
function alertsFromMigrations(
  migrations: readonly InterestMigration[],
  users: ReadonlyMap<string, DatasetRow[]>,
): Alert[] {
  return migrations.map((m) => {
    const list = users.get(m.userId) ?? [];
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((list[mid] as DatasetRow).eventTimeMs <= m.detectedAtEventTimeMs) lo = mid + 1;
      else hi = mid;
    }
    return { userId: m.userId, eventTimeMs: m.detectedAtEventTimeMs, eventIndex: Math.max(0, lo - 1) };
  });
}

/** The set's rows as input events (ids named by the set's kind, as every replay of it does). */
export function setEvents(set: EvalSet): ClickEvent[] {
  return rowsToEvents(set.rows, set.kind === 'real' ? 'eval' : 'sim');
}

/** `params` with the core detector at enter threshold `enter` (exit = enter − gap, at least 0.05). */
export function withEnterThreshold(
  params: CoreParams,
  enter: number,
  gap: number,
  embeddingWeight = params.drift.embeddingWeight,
): CoreParams {
  return {
    ...params,
    drift: {
      ...params.drift,
      enterThreshold: enter,
      exitThreshold: Math.max(0.05, enter - gap),
      embeddingWeight,
    },
  };
}

/** The core detector's migration alerts: `events` replayed through the live topology. */
export async function coreAlerts(
  events: readonly ClickEvent[],
  users: ReadonlyMap<string, DatasetRow[]>,
  encoder: Encoder,
  manifest: ModelManifest,
  params: CoreParams,
): Promise<Alert[]> {
  const pipeline = new OfflinePipeline(encoder, manifest, params);
  await pipeline.feed(events);
  const migrations = pipeline.outputs.flatMap((o) =>
    o.kind === 'migration' ? [o.value as InterestMigration] : [],
  );
  return alertsFromMigrations(migrations, users);
}

export function baselineAlerts(
  rows: readonly DatasetRow[],
  name: BaselineName,
  param: number,
  guards: Guards,
): Alert[] {
  return detectorAlerts(rows, () => createBaseline(name, param, guards));
}

/** Runs one detector per user (made by `create`) over each user's category stream. */
export function detectorAlerts(
  rows: readonly DatasetRow[],
  create: (userId: string) => CategoryStreamDetector,
): Alert[] {
  const alerts: Alert[] = [];
  for (const [u, list] of rowsByUser(rows)) {
    const d = create(u);
    list.forEach((r, i) => {
      if (d.observe(r.categoryId, r.eventTimeMs))
        alerts.push({ userId: u, eventTimeMs: r.eventTimeMs, eventIndex: i });
    });
  }
  return alerts;
}

export interface SweepPoint {
  readonly param: number;
  readonly score: DetectionScore;
}

export interface MethodResult {
  readonly method: string;
  /** What the swept parameter is, for the plots. */
  readonly paramName: string;
  readonly calibratedParam: number;
  readonly atCalibrated: DetectionScore;
  /** 95 % user-level bootstrap intervals at the calibrated parameter. */
  readonly intervals: DetectionIntervals;
  readonly sweep: SweepPoint[];
}

/** Enter thresholds swept for the core detector (exit = enter − the calibrated gap). */
export const DRIFT_GRID: readonly number[] = [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7];

export interface MigrationEval {
  readonly methods: MethodResult[];
  /** Every method at each stable-alert budget, parameters from the train users. */
  readonly budgets: BudgetResult[];
  readonly events: number;
  readonly users: number;
}

export async function evaluateMigrations(
  set: EvalSet,
  encoder: Encoder,
  manifest: ModelManifest,
  params: CoreParams,
  baselineParams: Readonly<Record<BaselineName, number>>,
  operatingPoints: readonly OperatingPoint[] = [],
): Promise<MigrationEval> {
  const users = rowsByUser(set.rows);
  const events = setEvents(set);
  const recording = new RecordingEncoder(encoder);
  const gap = params.drift.enterThreshold - params.drift.exitThreshold;
  const runCore = async (
    enter: number,
    embeddingWeight = params.drift.embeddingWeight,
  ): Promise<{ score: DetectionScore; alerts: Alert[] }> => {
    recording.rewind();
    const p = withEnterThreshold(params, enter, gap, embeddingWeight);
    const alerts = await coreAlerts(events, users, recording, manifest, p);
    return { score: scoreDetections(set.truth, alerts), alerts };
  };
  const calibratedRun = await runCore(params.drift.enterThreshold);
  const calibratedCore = calibratedRun.score;
  const coreSweep: SweepPoint[] = [];
  const grid = [...new Set([...DRIFT_GRID, params.drift.enterThreshold])].sort((a, b) => a - b);
  for (const enter of grid) {
    coreSweep.push({
      param: enter,
      score: enter === params.drift.enterThreshold ? calibratedCore : (await runCore(enter)).score,
    });
  }
  const methods: MethodResult[] = [
    {
      method: OURS,
      paramName: 'enter threshold',
      calibratedParam: params.drift.enterThreshold,
      atCalibrated: calibratedCore,
      intervals: detectionIntervals(migrationOutcomes(set.truth, calibratedRun.alerts)),
      sweep: coreSweep,
    },
  ];
  const guards: Guards = guardsOf(params.drift);
  for (const name of BASELINES) {
    const sweep = BASELINE_GRIDS[name].map((param) => ({
      param,
      score: scoreDetections(set.truth, baselineAlerts(set.rows, name, param, guards)),
    }));
    const chosen = baselineParams[name];
    const alerts = baselineAlerts(set.rows, name, chosen, guards);
    methods.push({
      method: name,
      paramName: BASELINE_PARAM_NAMES[name],
      calibratedParam: chosen,
      atCalibrated: scoreDetections(set.truth, alerts),
      intervals: detectionIntervals(migrationOutcomes(set.truth, alerts)),
      sweep,
    });
  }
  const budgets: BudgetResult[] = [];
  for (const op of operatingPoints) {
    const rows: BudgetRow[] = [];
    const variantOutcomes = new Map<string, MigrationOutcome[]>();
    for (const v of CORE_VARIANTS) {
      const enter = op.params[v.name];
      if (enter === undefined) continue;
      const run = await runCore(enter, v.embeddingWeight ?? params.drift.embeddingWeight);
      const outcomes = migrationOutcomes(set.truth, run.alerts);
      variantOutcomes.set(v.name, outcomes);
      rows.push({
        method: v.name,
        param: enter,
        trainStableAlertRate: op.trainStableAlertRate[v.name] ?? NaN,
        score: run.score,
        intervals: detectionIntervals(outcomes),
      });
    }
    for (const name of BASELINES) {
      const param = op.params[name];
      if (param === undefined) continue;
      const alerts = baselineAlerts(set.rows, name, param, guards);
      rows.push({
        method: name,
        param,
        trainStableAlertRate: op.trainStableAlertRate[name] ?? NaN,
        score: scoreDetections(set.truth, alerts),
        intervals: detectionIntervals(migrationOutcomes(set.truth, alerts)),
      });
    }
    const ours = variantOutcomes.get(OURS);
    const categoriesOnly = variantOutcomes.get(CATEGORIES_ONLY);
    budgets.push({
      budget: op.budget,
      rows,
      ...(ours && categoriesOnly ? { encoderAblation: pairedDetectionDifference(ours, categoriesOnly) } : {}),
    });
  }
  return { methods, budgets, events: set.rows.length, users: users.size };
}

/** Every method at its calibrated parameter on one set (no sweep). */
export async function scoresAtCalibrated(
  set: EvalSet,
  encoder: Encoder,
  manifest: ModelManifest,
  params: CoreParams,
  baselineParams: Readonly<Record<BaselineName, number>>,
): Promise<Map<string, DetectionScore>> {
  const out = new Map<string, DetectionScore>();
  const alerts = await coreAlerts(setEvents(set), rowsByUser(set.rows), encoder, manifest, params);
  out.set(OURS, scoreDetections(set.truth, alerts));
  const guards = guardsOf(params.drift);
  for (const name of BASELINES)
    out.set(name, scoreDetections(set.truth, baselineAlerts(set.rows, name, baselineParams[name], guards)));
  return out;
}

/**
 * The null check of the real-data label: each user's events keep their times but their
 * contents (category, item, kind) are shuffled among them, which destroys any real migration
 * while keeping each user's breadth and activity. Seeded.
 */
export function shuffledInTime(rows: readonly DatasetRow[], seed: number): DatasetRow[] {
  const r = rng(seed);
  const out: DatasetRow[] = [];
  for (const list of rowsByUser(rows).values()) {
    const contents = list.map((x) => ({ categoryId: x.categoryId, itemId: x.itemId, kind: x.kind }));
    for (let i = contents.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [contents[i], contents[j]] = [
        contents[j] as (typeof contents)[number],
        contents[i] as (typeof contents)[number],
      ];
    }
    list.forEach((x, i) => out.push({ ...x, ...(contents[i] as (typeof contents)[number]) }));
  }
  return out.sort((a, b) => a.eventTimeMs - b.eventTimeMs);
}

export interface NullCheck {
  readonly movers: number;
  readonly stable: number;
  readonly shuffledMovers: number;
  readonly shuffledStable: number;
  /** Per method, on the original and on the shuffled data: movers alerted, stable users alerted. */
  readonly methods: {
    method: string;
    recall: number;
    stableAlertRate: number;
    shuffledRecall: number;
    shuffledStableAlertRate: number;
  }[];
}

/**
 * Labels and alerts on the real rows and on the same rows shuffled in time. `before` are the
 * methods' scores at their calibrated parameters on `set` (evaluateMigrations' atCalibrated), so
 * only the shuffled rows are run again.
 */
export async function nullCheck(
  set: EvalSet,
  before: ReadonlyMap<string, DetectionScore>,
  encoder: Encoder,
  manifest: ModelManifest,
  params: CoreParams,
  baselineParams: Readonly<Record<BaselineName, number>>,
  seed = 5,
): Promise<NullCheck> {
  const shuffled = realEvalSet(`${set.name}, shuffled in time`, shuffledInTime(set.rows, seed), 86_400_000);
  const count = (s: EvalSet, positive: boolean): number =>
    [...s.truth.values()].filter((t) => t.positive === positive).length;
  const after = await scoresAtCalibrated(shuffled, encoder, manifest, params, baselineParams);
  return {
    movers: count(set, true),
    stable: count(set, false),
    shuffledMovers: count(shuffled, true),
    shuffledStable: count(shuffled, false),
    methods: [...before].map(([method, s]) => ({
      method,
      recall: s.recall,
      stableAlertRate: s.falseAlarmUserRate,
      shuffledRecall: after.get(method)?.recall ?? NaN,
      shuffledStableAlertRate: after.get(method)?.falseAlarmUserRate ?? NaN,
    })),
  };
}

/** Mean and sample standard deviation. */
export interface MeanSd {
  readonly mean: number;
  readonly sd: number;
}

export function meanSd(xs: readonly number[]): MeanSd {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / Math.max(1, n);
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd };
}

export interface SeedSpread {
  /** Which simulated scenario (set by the caller). */
  readonly scenario?: string;
  readonly seeds: number[];
  readonly methods: {
    method: string;
    f1: MeanSd;
    recall: MeanSd;
    precision: MeanSd;
    recallWithinBound: MeanSd;
  }[];
}

/**
 * Every method at its calibrated parameter over several simulator seeds (a new population and
 * new migrations per seed): mean ± sd, so one lucky seed cannot carry a claim.
 */
export async function migrationsOverSeeds(
  sets: readonly EvalSet[],
  seeds: readonly number[],
  encoder: Encoder,
  manifest: ModelManifest,
  params: CoreParams,
  baselineParams: Readonly<Record<BaselineName, number>>,
): Promise<SeedSpread> {
  const per = new Map<string, DetectionScore[]>();
  const add = (m: string, s: DetectionScore): void => {
    const l = per.get(m);
    if (l) l.push(s);
    else per.set(m, [s]);
  };
  for (const set of sets) {
    for (const [m, sc] of await scoresAtCalibrated(set, encoder, manifest, params, baselineParams))
      add(m, sc);
  }
  return {
    seeds: [...seeds],
    methods: [...per].map(([method, scores]) => ({
      method,
      f1: meanSd(scores.map((s) => s.f1)),
      recall: meanSd(scores.map((s) => s.recall)),
      precision: meanSd(scores.map((s) => s.precision)),
      recallWithinBound: meanSd(scores.map((s) => s.recallWithinBound)),
    })),
  };
}

export const BASELINE_PARAM_NAMES: Readonly<Record<BaselineName, string>> = {
  'top-category-changed': 'recent window (events)',
  'js-divergence': 'JS threshold (bits)',
  'page-hinkley': 'λ',
  adwin: 'δ',
};

export interface BaselineCalibration {
  readonly param: number;
  /** Share of the calibration set's stable users alerted at `param`. */
  readonly stableAlertRate: number;
  /** False when no parameter of the grid reaches the target: the least sensitive one is used. */
  readonly targetMet: boolean;
}

/**
 * Calibrates each baseline the way the core detector's thresholds are calibrated
 * (src/tools/calibrate.ts): on the TRAIN users, the most sensitive parameter whose share of
 * stable users with any alert is at most `target`; the least sensitive one when none is.
 */
export function calibrateBaselines(
  set: EvalSet,
  guards: Guards,
  target: number,
): Record<BaselineName, BaselineCalibration> {
  return calibrateBaselinesAt(set, guards, [target])[0] as Record<BaselineName, BaselineCalibration>;
}

/** calibrateBaselines for several stable-alert budgets at once (one sweep per baseline). */
export function calibrateBaselinesAt(
  set: EvalSet,
  guards: Guards,
  budgets: readonly number[],
): Record<BaselineName, BaselineCalibration>[] {
  const out = budgets.map(() => ({}) as Record<BaselineName, BaselineCalibration>);
  for (const name of BASELINES) {
    const sweep = BASELINE_GRIDS[name].map((param) => ({
      param,
      rate: scoreDetections(set.truth, baselineAlerts(set.rows, name, param, guards)).falseAlarmUserRate,
    }));
    budgets.forEach((budget, k) => {
      const hit = sweep.find((x) => x.rate <= budget);
      const pick = hit ?? sweep.at(-1);
      if (!pick) throw new Error(`empty grid for ${name}`);
      (out[k] as Record<BaselineName, BaselineCalibration>)[name] = {
        param: pick.param,
        stableAlertRate: pick.rate,
        targetMet: hit !== undefined,
      };
    });
  }
  return out;
}

/** Our detector as shipped: its method name in every table. */
export const OURS = 'interest-drift (encoder + categories)';

/** The encoder term's ablation: the core detector on categories only. */
export const CATEGORIES_ONLY = 'interest-drift, categories only';

/**
 * Core detector variants of the ablation: the drift score from categories only (embedding
 * weight 0), from the encoder's embedding only (weight 1), and the shipped mix.
 */
export const CORE_VARIANTS: readonly { readonly name: string; readonly embeddingWeight: number | null }[] = [
  { name: OURS, embeddingWeight: null },
  { name: CATEGORIES_ONLY, embeddingWeight: 0 },
  { name: 'interest-drift, embedding only', embeddingWeight: 1 },
];

/**
 * One stable-alert budget: each method's parameter chosen on the TRAIN users (make calibrate) as
 * the most sensitive one alerting at most `budget` of the stable train users. Keys: the
 * CORE_VARIANTS names (enter threshold) and the baseline names.
 */
export interface OperatingPoint {
  readonly budget: number;
  readonly params: Readonly<Record<string, number>>;
  /** Stable-alert rate each method reached on the train users at its parameter. */
  readonly trainStableAlertRate: Readonly<Record<string, number>>;
}

export interface BudgetRow {
  readonly method: string;
  readonly param: number;
  readonly trainStableAlertRate: number;
  readonly score: DetectionScore;
  readonly intervals: DetectionIntervals;
}

export interface BudgetResult {
  readonly budget: number;
  readonly rows: BudgetRow[];
  /** Ours minus categories only (the encoder term's ablation), users resampled in pairs. */
  readonly encoderAblation?: PairedDetectionDifference;
}

export interface ChurnMethodResult {
  readonly method: string;
  readonly rocAuc: number;
  /** 95 % interval of rocAuc, users resampled with all their scoring points. */
  readonly rocAucInterval: Interval;
  /** AUC among users at the same checkpoint, and among one user's checkpoints (churn-metrics.ts). */
  readonly betweenUsersAuc: number;
  readonly withinUsersAuc: number;
  readonly prAuc: number;
  readonly roc: { fpr: number[]; tpr: number[] };
}

export interface ChurnEval {
  readonly label: string;
  readonly scoringPoints: number;
  readonly users: number;
  readonly positives: number;
  readonly checkpointEveryMs: number;
  readonly methods: ChurnMethodResult[];
  /** Calibration of our churn risk read as a probability of the label. */
  readonly calibration: { brier: number; bins: ReliabilityBin[] };
  /** Our AUC minus each other score's, users resampled in pairs. */
  readonly oursVs?: { method: string; aucDifference: Interval }[];
  /** Churn alerts the replay raised (ChurnRisk RAISED), per level, per 1,000 users per day. */
  readonly alertsPer1kUserDays?: { level: string; alerts: number; per1kUserDays: number }[];
  readonly userDays?: number;
}

/**
 * Replays `set` through the live topology and visits every known user at every checkpoint (every
 * `stepMs` of event time from the first event; with a no-event-within truth, up to the last
 * checkpoint whose horizon the data still covers). `label` = the set's churn truth there.
 */
export async function walkChurnCheckpoints(
  set: EvalSet,
  encoder: Encoder,
  manifest: ModelManifest,
  params: CoreParams,
  stepMs: number,
  visit: (s: UserState, atMs: number, label: boolean) => void,
): Promise<PlannedOutput[]> {
  const events = setEvents(set);
  const pipeline = new OfflinePipeline(encoder, manifest, params);
  const times = new Map<string, number[]>();
  for (const r of set.rows) {
    const l = times.get(r.userId);
    if (l) l.push(r.eventTimeMs);
    else times.set(r.userId, [r.eventTimeMs]);
  }
  const first = set.rows[0]?.eventTimeMs ?? 0;
  const end = set.rows[set.rows.length - 1]?.eventTimeMs ?? 0;
  const ct = set.churnTruth;
  const lastCheckpoint = ct.kind === 'no-event-within' ? end - ct.horizonMs : end;
  let cursor = 0;
  for (let t = first + stepMs; t <= lastCheckpoint; t += stepMs) {
    const next: ClickEvent[] = [];
    while (cursor < events.length && (events[cursor] as ClickEvent).eventTimeMs <= t)
      next.push(events[cursor++] as ClickEvent);
    await pipeline.feed(next);
    for (const s of pipeline.states.values()) {
      let label: boolean;
      if (ct.kind === 'no-event-within') {
        label = !hasEventIn(times.get(s.userId) ?? [], t, t + ct.horizonMs);
      } else {
        const last = ct.lastEventTimeMs.get(s.userId);
        label = last !== undefined && last <= t;
      }
      visit(s, t, label);
    }
  }
  return pipeline.outputs;
}

/** Event time between two churn scoring checkpoints (evaluation and the hazard's training data). */
export const CHURN_CHECKPOINT_MS = 6 * HOUR_MS;

/**
 * Scores every user with state at event-time checkpoints (every `stepMs`), after feeding the
 * pipeline all events up to the checkpoint. Our score is the service's churn risk at that moment
 * (user-state.ts churnRisk: the learned hazard when params carry one), what the timers compare
 * with the level thresholds. Baselines: idle time only (recency), minus the user's events per day
 * so far (frequency), the hazard file's logistic regression on recency/frequency features (fitted
 * on the train users), and the encoder's inactivity head grown by idle time (the score before 0.5).
 */
export async function evaluateChurn(
  set: EvalSet,
  encoder: Encoder,
  manifest: ModelManifest,
  params: CoreParams,
  stepMs = CHURN_CHECKPOINT_MS,
): Promise<ChurnEval> {
  const ct = set.churnTruth;
  const hazard = params.churn.hazard;
  const ours: number[] = [];
  const recency: number[] = [];
  const frequency: number[] = [];
  const logistic: number[] = [];
  const before: number[] = [];
  const labels: boolean[] = [];
  const points: ScoringPoint[] = [];
  const outputs = await walkChurnCheckpoints(set, encoder, manifest, params, stepMs, (s, t, label) => {
    const idle = t - s.lastEventTimeMs;
    labels.push(label);
    points.push({ user: s.userId, atMs: t, label });
    ours.push(churnRisk(s, t, params));
    recency.push(idle);
    frequency.push(-s.eventCount / (Math.max(0, t - s.firstEventTimeMs) / 86_400_000 + 1));
    if (hazard?.baseline) logistic.push(hazardProbability(hazard.baseline, hazardFeatures(s, t, hazard)));
    before.push(riskAt(s.churn.inactivityProbability, idle, params.churn));
  });
  const end = set.rows[set.rows.length - 1]?.eventTimeMs ?? 0;
  const firstSeen = new Map<string, number>();
  for (const r of set.rows) if (!firstSeen.has(r.userId)) firstSeen.set(r.userId, r.eventTimeMs);
  let userDays = 0;
  for (const f of firstSeen.values()) userDays += Math.max(0, end - f) / 86_400_000;
  const raised = new Map<string, number>(CHURN_LEVELS.slice(1).map((l) => [l, 0]));
  for (const o of outputs) {
    if (o.kind !== 'churn') continue;
    const v = o.value as ChurnRisk;
    if (v.status === 'RAISED') raised.set(v.level, (raised.get(v.level) ?? 0) + 1);
  }
  const others: [string, number[]][] = [
    ['recency only (idle time)', recency],
    ['frequency only (events per day so far, negated)', frequency],
    ...(hazard?.baseline
      ? [[`${hazard.baseline.name} (fitted on the train users)`, logistic] as [string, number[]]]
      : []),
    ...(hazard
      ? [['encoder inactivity head + idle time (the score before 0.5)', before] as [string, number[]]]
      : []),
  ];
  const method = (name: string, scores: number[]): ChurnMethodResult => ({
    method: name,
    rocAuc: rocAuc(scores, labels),
    rocAucInterval: userClusteredAuc(scores, points),
    betweenUsersAuc: groupedAuc(scores, labels, (i) => (points[i] as ScoringPoint).atMs),
    withinUsersAuc: groupedAuc(scores, labels, (i) => (points[i] as ScoringPoint).user),
    prAuc: averagePrecision(scores, labels),
    roc: rocCurve(scores, labels),
  });
  return {
    label:
      ct.kind === 'no-event-within'
        ? `no event within ${ct.horizonMs / HOUR_MS} h after the checkpoint (inactivity proxy)`
        : 'the user has gone quiet for good (simulated ground truth)',
    scoringPoints: labels.length,
    users: new Set(points.map((p) => p.user)).size,
    positives: labels.filter(Boolean).length,
    checkpointEveryMs: stepMs,
    methods: [
      method(
        hazard
          ? 'interest-drift churn hazard (learned: idle time, frequency, rates, rhythm)'
          : 'interest-drift churn risk (inactivity head + idle time)',
        ours,
      ),
      ...others.map(([name, scores]) => method(name, scores)),
    ],
    calibration: calibrationOf(ours, labels),
    oursVs: others.map(([name, scores]) => ({
      method: name,
      aucDifference: pairedAucDifference(ours, scores, points),
    })),
    alertsPer1kUserDays: [...raised].map(([level, alerts]) => ({
      level,
      alerts,
      per1kUserDays: userDays > 0 ? (1000 * alerts) / userDays : NaN,
    })),
    userDays,
  };
}

/** Whether a sorted list of times has one in (from, to]. */
function hasEventIn(sorted: readonly number[], from: number, to: number): boolean {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as number) <= from) lo = mid + 1;
    else hi = mid;
  }
  return lo < sorted.length && (sorted[lo] as number) <= to;
}

export interface NextCategoryEval {
  readonly users: number;
  readonly positions: number;
  readonly hrAt10: number;
  readonly ndcgAt10: number;
  /** The model without in-session repeats (next-category-baselines.ts). */
  readonly withoutRepeats: TopKScore;
  /** The repeat-aware head over the model and the user's history (core/next-category-head.ts). */
  readonly head: NextCategoryMethod | null;
  /** head − each baseline on the same positions, users resampled in pairs. */
  readonly headVsBaselines?: { method: string; all: PairedDifference }[];
  readonly baselines: NextCategoryMethod[];
}

export const HEAD_METHOD = 'interest-drift repeat-aware head';

/**
 * Next-category HR@10 / NDCG@10 with onnx/model_eval.py's definitions: at every position t ≥ 1
 * of a user's sequence, the top 10 vocabulary entries (index ≥ 2, ties by index) of the logits
 * after event t−1 against the category of event t; an out-of-vocabulary target is a miss for the
 * model alone. The head ranks raw category ids, so it can also hit a category outside the
 * vocabulary that the user has seen.
 */
export async function evaluateNextCategory(
  rows: readonly DatasetRow[],
  encoder: Encoder,
  manifest: ModelManifest,
  params: CoreParams,
  head: NextCategoryHeadWeights | null,
): Promise<NextCategoryEval> {
  const model = new TopKAccumulator();
  const modelNoRepeats = new TopKAccumulator();
  const ours = new TopKAccumulator();
  const oursNoRepeats = new TopKAccumulator();
  const users = await walkNextCategoryPositions(rows, encoder, manifest, params, (p) => {
    const repeat = isInSessionRepeat(p.current, p.target);
    const ti = manifest.categoryIndex.get(p.target.categoryId);
    const rank = ti === undefined ? -1 : rankOf(p.logits, ti);
    const user = p.current.userId;
    model.add(rank, user);
    if (!repeat) modelNoRepeats.add(rank, user);
    if (head) {
      const ranked = rankNextCategories(head, p.history, p.logits, manifest);
      const r = ranked.findIndex((c) => c.categoryId === p.target.categoryId);
      ours.add(r, user);
      if (!repeat) oursNoRepeats.add(r, user);
    }
  });
  const all = model.score();
  const baselines = nextCategoryBaselineRuns(rows);
  return {
    users,
    positions: all.positions,
    hrAt10: all.hrAt10,
    ndcgAt10: all.ndcgAt10,
    withoutRepeats: modelNoRepeats.score(),
    head: head ? { method: HEAD_METHOD, all: ours.score(), withoutRepeats: oursNoRepeats.score() } : null,
    headVsBaselines: head
      ? baselines.map((b) => ({ method: b.method, all: pairedDifference(ours, b.all) }))
      : undefined,
    baselines: baselines.map((b) => ({
      method: b.method,
      all: b.all.score(),
      withoutRepeats: b.withoutRepeats.score(),
    })),
  };
}

/** 0-based rank of index `target` among logits[2..] by descending value, ties by lower index. */
function rankOf(logits: Float32Array, target: number): number {
  const v = logits[target] as number;
  let rank = 0;
  for (let i = 2; i < logits.length; i++) {
    const x = logits[i] as number;
    if (x > v || (x === v && i < target)) rank++;
  }
  return rank;
}
