/**
 * Per-user state and its update. Pure and deterministic: given the same state, event and encoder
 * output, applyEvent returns the same new state and outputs, in the live processor, the offline
 * evaluation and the tests alike. Nothing here reads a clock or does I/O.
 *
 * Invariants (callers must keep them):
 *   - events of one user are applied in input (offset) order, one at a time;
 *   - `enc` is the encoder output after exactly this event, fed the state's `hidden`;
 *   - states are never mutated: every function returns new objects.
 */
import type { ChurnState } from './churn-state';
import { INITIAL_CHURN } from './churn-state';
import { levelName, levelOf, nextLevelDueMs, riskAt } from './churn-scorer';
import { decayedRate, hazardRisk, nextRescoreMs } from './churn-hazard';
import type { DecayedHistogram } from './decayed-histogram';
import {
  EMPTY_HISTOGRAM,
  addEvent,
  entropyBits,
  histogramDivergence,
  shares,
  topShares,
} from './decayed-histogram';
import type { DriftState } from './drift-detector';
import { INITIAL_DRIFT, driftConfidence, driftScore, stepDrift } from './drift-detector';
import type { EventWindow, WindowEntry } from './event-window';
import { EMPTY_WINDOW, appendToWindow, windowEntry, windowLength } from './event-window';
import { EVENT_KEY_BASE, deterministicId, eventKey, legacyEventKey } from './ids';
import type { CoreParams } from './params';
import type { ChurnReason, ChurnRisk, ClickEvent, CoreOutput, InterestMigration, SegmentRef } from './types';
import type { Vector } from './vector';
import { blendNormalized, cosineDistance, nearestCentroid, sigmoid, vectorOf } from './vector';

export type { EventWindow, WindowEntry } from './event-window';

/** What the next-category head reads of a user's state after their latest event. */
export interface CategoryHistory {
  /** Last events, oldest first. */
  readonly window: EventWindow;
  readonly shortHorizon: DecayedHistogram;
  readonly eventCount: number;
}

export interface UserState {
  readonly userId: string;
  readonly modelVersion: string;
  readonly eventCount: number;
  readonly firstEventTimeMs: number;
  readonly lastEventTimeMs: number;
  /** Last W events, oldest first. */
  readonly window: EventWindow;
  readonly shortHorizon: DecayedHistogram;
  readonly longHorizon: DecayedHistogram;
  /** Encoder hidden state after the last event (float32 values); null before the first. */
  readonly hidden: Vector | null;
  readonly shortEmbedding: Vector | null;
  readonly longEmbedding: Vector | null;
  readonly drift: DriftState;
  readonly churn: ChurnState;
  /** eventKey() of the most recent event ids, oldest first, at most CoreParams.dedupIds. */
  readonly recentEventKeys: readonly number[];
  readonly profileEmittedAtMs: number;
  /** Drift score after the last event (0 before the first). */
  readonly driftScore: number;
  /** The user's last detected migration, null when none. */
  readonly lastMigration: LastMigration | null;
}

/** What the lookup API reports of the last migration: top category ids before and after. */
export interface LastMigration {
  readonly fromCategoryIds: readonly string[];
  readonly toCategoryIds: readonly string[];
  /** Event time of detection, ms. */
  readonly detectedAtMs: number;
}

/** What the core needs to know about the model. */
export interface ModelContext {
  readonly modelVersion: string;
  readonly segmentCentroids: readonly Float32Array[];
  readonly segmentLabels: readonly string[];
  readonly inactivityHorizonMs: number;
}

/** The encoder's outputs after one event. */
export interface EventEncoding {
  readonly h: Float32Array;
  readonly embedding: Float32Array;
  readonly inactivityLogit: number;
}

export interface StepResult {
  readonly state: UserState;
  readonly outputs: CoreOutput[];
}

export function newUserState(userId: string, modelVersion: string): UserState {
  return {
    userId,
    modelVersion,
    eventCount: 0,
    firstEventTimeMs: 0,
    lastEventTimeMs: 0,
    window: EMPTY_WINDOW,
    shortHorizon: EMPTY_HISTOGRAM,
    longHorizon: EMPTY_HISTOGRAM,
    hidden: null,
    shortEmbedding: null,
    longEmbedding: null,
    drift: INITIAL_DRIFT,
    churn: INITIAL_CHURN,
    recentEventKeys: [],
    profileEmittedAtMs: 0,
    driftScore: 0,
    lastMigration: null,
  };
}

/** The state to feed the encoder from: a state from another model version restarts its sequence. */
export function hiddenFor(state: UserState | null, model: ModelContext): Vector | null {
  return state && state.modelVersion === model.modelVersion ? state.hidden : null;
}

/**
 * True when the event with id `eventId` is in the dedup memory. `key` = eventKey(eventId),
 * computed once per event by the caller. A memory restored from a state written before e8e72ef may still
 * hold legacyEventKey()s (below EVENT_KEY_BASE); they are its oldest entries, since the memory is
 * oldest first, so the legacy key is computed only while the first entry is one.
 */
export function isDuplicate(recentEventKeys: readonly number[], key: number, eventId: string): boolean {
  if (recentEventKeys.includes(key)) return true;
  const oldest = recentEventKeys[0];
  return oldest !== undefined && oldest < EVENT_KEY_BASE && recentEventKeys.includes(legacyEventKey(eventId));
}

export function rememberEventKey(recent: readonly number[], key: number, max: number): number[] {
  const from = Math.max(0, recent.length + 1 - max);
  const next = new Array<number>(recent.length + 1 - from);
  for (let i = from; i < recent.length; i++) next[i - from] = recent[i] as number;
  next[next.length - 1] = key;
  return next;
}

export function segmentRef(v: Vector | null, model: ModelContext): SegmentRef {
  if (!v || model.segmentCentroids.length === 0) return { segmentId: -1, label: 'unknown' };
  const i = nearestCentroid(v, model.segmentCentroids);
  return { segmentId: i, label: model.segmentLabels[i] ?? `segment ${i}` };
}

/** One decayed-count increment, expressed per day for a half-life. */
function rateIncrement(halfLifeMs: number): number {
  return (Math.LN2 / halfLifeMs) * 86_400_000;
}

export interface CategoryHistoryStep extends CategoryHistory {
  /** The window entry that has just become referenceLagEvents old (it enters the long horizon). */
  readonly lagged: WindowEntry | undefined;
}

/**
 * The window, short-horizon histogram and event count after one more event: the part of
 * applyEvent the next-category head reads, shared so the evaluation computes the same history.
 */
export function advanceCategoryHistory(
  base: CategoryHistory,
  event: Pick<ClickEvent, 'categoryId' | 'kind' | 'eventTimeMs'>,
  params: CoreParams,
): CategoryHistoryStep {
  const t = event.eventTimeMs;
  const shortHorizon = addEvent(
    base.shortHorizon,
    event.categoryId,
    t,
    params.eventWeights[event.kind],
    params.shortHorizon,
    params.maxCategories,
  );
  const entry: WindowEntry = { categoryId: event.categoryId, kind: event.kind, eventTimeMs: t };
  const window = appendToWindow(base.window, entry, params.windowEvents);
  const n = windowLength(base.window);
  const lag = params.referenceLagEvents;
  const lagged = lag === 0 ? entry : lag <= n ? windowEntry(base.window, n - lag) : undefined;
  return { window, shortHorizon, eventCount: base.eventCount + 1, lagged };
}

/** Applies one accepted (validated, not duplicate, not late) event. */
export function applyEvent(
  prev: UserState | null,
  event: ClickEvent,
  enc: EventEncoding,
  params: CoreParams,
  model: ModelContext,
  key: number = eventKey(event.eventId),
): StepResult {
  const base = prev ?? newUserState(event.userId, model.modelVersion);
  const t = event.eventTimeMs;
  const { window, shortHorizon, eventCount, lagged } = advanceCategoryHistory(base, event, params);
  const sameModel = base.modelVersion === model.modelVersion;
  const hidden = vectorOf(enc.h);
  const prevLong = sameModel ? base.longEmbedding : null;
  const alpha = Math.pow(2, -1 / params.longEmbeddingHalfLifeEvents);
  let longEmbedding = prevLong ? blendNormalized(prevLong, enc.embedding, alpha) : vectorOf(enc.embedding);
  const prevShort = sameModel ? base.shortEmbedding : null;
  const shortAlpha = Math.pow(2, -1 / params.shortEmbeddingHalfLifeEvents);
  const shortEmbedding =
    prevShort && params.shortEmbeddingHalfLifeEvents > 1
      ? blendNormalized(prevShort, enc.embedding, shortAlpha)
      : vectorOf(enc.embedding);
  const lastEventTimeMs = Math.max(base.lastEventTimeMs, t);
  const longHorizon = lagged
    ? addEvent(
        base.longHorizon,
        lagged.categoryId,
        lagged.eventTimeMs,
        params.eventWeights[lagged.kind],
        params.longHorizon,
        params.maxCategories,
      )
    : base.longHorizon;

  // Drift.
  const embeddingDistance = cosineDistance(shortEmbedding, longEmbedding);
  const categoryDivergence = histogramDivergence(shortHorizon, longHorizon);
  const score = driftScore(embeddingDistance, categoryDivergence, params.drift);
  const referenceEvents = Math.max(0, eventCount - params.referenceLagEvents);
  const step = stepDrift(base.drift, score, t, referenceEvents, params.drift);
  const outputs: CoreOutput[] = [];
  // Cooldown over: measure the next switch from where the user is now.
  // Histograms are immutable, so the rebased baseline shares the short horizon's arrays.
  let rebasedLong = step.rebase ? shortHorizon : longHorizon;
  let lastMigration = base.lastMigration;
  if (step.rebase) longEmbedding = shortEmbedding;
  if (step.fire) {
    const evidenceStart = base.drift.phase === 'SUSPECT' ? base.drift.evidenceStartTimeMs : t;
    const migration: InterestMigration = {
      migrationId: deterministicId('migration', event.userId, model.modelVersion, t, eventCount),
      userId: event.userId,
      detectedAtEventTimeMs: t,
      fromCategories: topShares(longHorizon, params.topCategories),
      toCategories: topShares(shortHorizon, params.topCategories),
      fromSegment: segmentRef(longEmbedding, model),
      toSegment: segmentRef(shortEmbedding, model),
      score,
      confidence: driftConfidence(score, step.state.evidenceEvents, params.drift),
      embeddingDistance,
      categoryDivergence,
      evidence: { startEventTimeMs: evidenceStart, endEventTimeMs: t, eventCount: step.state.evidenceEvents },
      modelVersion: model.modelVersion,
    };
    outputs.push({ kind: 'migration', value: migration });
    lastMigration = {
      fromCategoryIds: migration.fromCategories.map((c) => c.categoryId),
      toCategoryIds: migration.toCategories.map((c) => c.categoryId),
      detectedAtMs: t,
    };
    // The new interests become the baseline: the next migration must be away from them.
    rebasedLong = shortHorizon;
    longEmbedding = shortEmbedding;
  }

  // Churn: scored at the event (idle 0). A rise raises an alert; a return while an alert is open
  // resolves it (the level then falls to what the event's score says).
  const p = sigmoid(enc.inactivityLogit);
  const c = base.churn;
  const recentRatePerDay =
    decayedRate(c.recentRatePerDay, base.lastEventTimeMs, lastEventTimeMs, params.recentRateHalfLifeMs) +
    rateIncrement(params.recentRateHalfLifeMs);
  const baselineRatePerDay =
    decayedRate(c.baselineRatePerDay, base.lastEventTimeMs, lastEventTimeMs, params.baselineRateHalfLifeMs) +
    rateIncrement(params.baselineRateHalfLifeMs);
  const churnBase: ChurnState = { ...c, inactivityProbability: p, recentRatePerDay, baselineRatePerDay };
  // Built once and finished below (its churn part) before anyone else sees it.
  const state: { -readonly [K in keyof UserState]: UserState[K] } = {
    userId: event.userId,
    modelVersion: model.modelVersion,
    eventCount,
    firstEventTimeMs: base.eventCount === 0 ? t : base.firstEventTimeMs,
    lastEventTimeMs,
    window,
    shortHorizon,
    longHorizon: rebasedLong,
    hidden,
    shortEmbedding,
    longEmbedding,
    drift: step.state,
    churn: churnBase,
    recentEventKeys: rememberEventKey(base.recentEventKeys, key, params.dedupIds),
    profileEmittedAtMs: base.profileEmittedAtMs,
    driftScore: score,
    lastMigration,
  };
  const riskNow = churnRisk(state, lastEventTimeMs, params);
  const levelNow = levelOf(riskNow, params.churn);
  let openAlertId = c.openAlertId;
  if (levelNow > c.level) {
    const raised = churnAlert(state, c.level, levelNow, lastEventTimeMs, riskNow, 'EVENT', params, model);
    outputs.push({ kind: 'churn', value: raised });
    openAlertId = raised.alertId;
  } else if (c.openAlertId !== null) {
    outputs.push({ kind: 'churn', value: churnResolved(base, c.openAlertId, c.level, t, params, model) });
    openAlertId = null;
  }
  state.churn = {
    ...churnBase,
    level: levelNow,
    nextTimerTimeMs: nextChurnTimerMs(state, lastEventTimeMs, levelNow, params),
    openAlertId,
  };
  return { state, outputs };
}

/**
 * Re-scores an idle user at watermark `atMs` (an event-time timer, or a processing-time timer
 * for quiet partitions). Emits a ChurnRisk only when the level rises; without an output, the new
 * state differs from `prev` only in churn.nextTimerTimeMs, and the processor keeps `prev` (see
 * resumedChurnTimerMs).
 */
export function scoreIdle(
  prev: UserState,
  atMs: number,
  trigger: 'EVENT_TIME_TIMER' | 'PROCESSING_TIME_TIMER',
  params: CoreParams,
  model: ModelContext,
): StepResult {
  const c = prev.churn;
  const risk = churnRisk(prev, atMs, params);
  const level = levelOf(risk, params.churn);
  const outputs: CoreOutput[] = [];
  let openAlertId = c.openAlertId;
  if (level > c.level) {
    const raised = churnAlert(prev, c.level, level, atMs, risk, trigger, params, model);
    outputs.push({ kind: 'churn', value: raised });
    openAlertId = raised.alertId;
  }
  const newLevel = Math.max(level, c.level);
  const state: UserState = {
    ...prev,
    churn: {
      ...c,
      level: newLevel,
      nextTimerTimeMs: nextChurnTimerMs(prev, atMs, newLevel, params),
      openAlertId,
    },
  };
  return { state, outputs };
}

/**
 * Churn risk of `s` at event time `atMs` (≥ its last event): the hazard model's probability when
 * there is one, else the inactivity head grown by idle time.
 */
export function churnRisk(s: UserState, atMs: number, params: CoreParams): number {
  const hazard = params.churn.hazard;
  return hazard
    ? hazardRisk(hazard, s, atMs)
    : riskAt(s.churn.inactivityProbability, atMs - s.lastEventTimeMs, params.churn);
}

/** Event time of the user's next idle re-score after `atMs` at `level`, > atMs; 0 = none. */
function nextChurnTimerMs(s: UserState, atMs: number, level: number, params: CoreParams): number {
  if (level >= 3) return 0;
  if (params.churn.hazard) return nextRescoreMs(s.lastEventTimeMs, atMs);
  const due = nextLevelDueMs(s.churn.inactivityProbability, s.lastEventTimeMs, level, params.churn);
  // The crossing time is rounded up, but the risk at it can still round to just below the
  // threshold; a timer re-armed at or below the watermark that fired it would fire forever.
  return due > atMs ? due : atMs + 1;
}

/**
 * The idle re-score timer of a restored user, for a processor that resumes at watermark
 * `watermarkMs` (epoch ms) from a changelog value with `lastEventTimeMs` and `nextTimerTimeMs`.
 *
 * A re-score that raises nothing (scoreIdle without an output) changes only the timer, and the
 * processor keeps the state as it was (not written to the changelog: at full size these were most
 * of its records). So a state's own `nextTimerTimeMs` may be a rung of the hazard's ladder that
 * the user has passed since; the processor's timers hold the one in force. A restored value
 * at or below the resume watermark is such a rung: a timer fires as soon as the watermark passes
 * it, and each re-score moves it to the first rung after that watermark. None of those re-scores
 * raised the level before the checkpoint (a raise is a state change, which the checkpoint
 * covers), so the processor that never stopped holds the first rung after the resume watermark,
 * and so does this one. Re-firing the old value instead would score at a later watermark than it
 * first was, and could raise the level earlier than that processor; it would also re-score most
 * restored users in the first batch. A value above the watermark is current (the user has not
 * been re-scored since it was written), and the replay fires it where it first fired.
 */
export function resumedChurnTimerMs(
  lastEventTimeMs: number,
  nextTimerTimeMs: number,
  watermarkMs: number,
  params: CoreParams,
): number {
  if (nextTimerTimeMs <= 0 || nextTimerTimeMs > watermarkMs || !params.churn.hazard) return nextTimerTimeMs;
  return nextRescoreMs(lastEventTimeMs, watermarkMs);
}

/** `risk` = churnRisk(s, atMs, params), which the caller has just computed for the level. */
function churnAlert(
  s: UserState,
  previousLevel: number,
  level: number,
  atMs: number,
  risk: number,
  trigger: ChurnRisk['trigger'],
  params: CoreParams,
  model: ModelContext,
): ChurnRisk {
  const idleMs = Math.max(0, atMs - s.lastEventTimeMs);
  const p = s.churn.inactivityProbability;
  const reasons: ChurnReason[] = [];
  const idleHours = idleMs / 3_600_000;
  if (idleMs > 0) {
    reasons.push({
      code: 'IDLE_TIME',
      value: idleHours,
      detail: `no activity for ${idleHours.toFixed(1)} h (event time)`,
    });
  }
  const hazard = params.churn.hazard;
  reasons.push(
    hazard
      ? {
          code: 'INACTIVITY_MODEL',
          value: risk,
          detail: `model: ${(risk * 100).toFixed(0)} % chance of no event within ${(hazard.horizonMs / 3_600_000).toFixed(0)} h from now, given the user's idle time and usual rhythm`,
        }
      : {
          code: 'INACTIVITY_MODEL',
          value: p,
          detail: `model: ${(p * 100).toFixed(0)} % chance of no event within ${(model.inactivityHorizonMs / 3_600_000).toFixed(0)} h of the last one`,
        },
  );
  const recent = decayedRate(s.churn.recentRatePerDay, s.lastEventTimeMs, atMs, params.recentRateHalfLifeMs);
  const baseline = decayedRate(
    s.churn.baselineRatePerDay,
    s.lastEventTimeMs,
    atMs,
    params.baselineRateHalfLifeMs,
  );
  if (baseline > 0 && recent / baseline < 0.5) {
    reasons.push({
      code: 'ACTIVITY_DROP',
      value: recent / baseline,
      detail: `recent activity is ${((recent / baseline) * 100).toFixed(0)} % of the user's usual rate`,
    });
  }
  const shortEntropy = entropyBits(shares(s.shortHorizon));
  const longEntropy = entropyBits(shares(s.longHorizon));
  if (longEntropy >= 1 && shortEntropy / longEntropy < 0.5) {
    reasons.push({
      code: 'INTEREST_ENTROPY_COLLAPSE',
      value: shortEntropy / longEntropy,
      detail: `recent interests span ${shortEntropy.toFixed(2)} bits vs ${longEntropy.toFixed(2)} usually`,
    });
  }
  return {
    alertId: deterministicId('churn', s.userId, level, atMs, s.eventCount),
    userId: s.userId,
    scoredAtEventTimeMs: atMs,
    level: levelName(level),
    previousLevel: levelName(previousLevel),
    riskScore: risk,
    idleMs,
    lastEventTimeMs: s.lastEventTimeMs,
    reasons,
    trigger,
    modelVersion: model.modelVersion,
    status: 'RAISED',
    resolution: null,
    replacesAlertId: s.churn.openAlertId,
  };
}

/**
 * The RESOLVED record that closes `s`'s open churn alert when its state is removed at event time
 * `atMs` (evicted after the state TTL, or erased), or null when none is open. Without it the alert
 * would stay open downstream for good: the user's next event starts from a fresh state, which has
 * no alert to resolve.
 */
export function churnClosedOnRemoval(
  s: UserState,
  atMs: number,
  why: 'evicted' | 'erased',
  trigger: ChurnRisk['trigger'],
  params: CoreParams,
  model: ModelContext,
): ChurnRisk | null {
  const alertId = s.churn.openAlertId;
  if (alertId === null) return null;
  const idleMs = Math.max(0, atMs - s.lastEventTimeMs);
  const idleHours = idleMs / 3_600_000;
  return {
    ...churnResolved(s, alertId, s.churn.level, atMs, params, model),
    riskScore: churnRisk(s, Math.max(atMs, s.lastEventTimeMs), params),
    reasons: [
      why === 'evicted'
        ? {
            code: 'IDLE_TIME',
            value: idleHours,
            detail: `state removed after ${idleHours.toFixed(1)} h idle (event time)`,
          }
        : { code: 'OTHER', value: idleHours, detail: 'state erased on request' },
    ],
    trigger,
    resolution: 'OTHER',
  };
}

/**
 * Closes the open alert `alertId` (of level `level`) of user `s` (its state before the event that
 * brought it back), scored at event time `atMs`: same alert id, the alert's level, reason
 * USER_RETURNED.
 */
function churnResolved(
  s: UserState,
  alertId: string,
  level: number,
  atMs: number,
  params: CoreParams,
  model: ModelContext,
): ChurnRisk {
  const idleMs = Math.max(0, atMs - s.lastEventTimeMs);
  const idleHours = idleMs / 3_600_000;
  return {
    alertId,
    userId: s.userId,
    scoredAtEventTimeMs: atMs,
    level: levelName(level),
    previousLevel: levelName(level),
    riskScore: churnRisk(s, s.lastEventTimeMs, params),
    idleMs,
    lastEventTimeMs: s.lastEventTimeMs,
    reasons: [
      {
        code: 'IDLE_TIME',
        value: idleHours,
        detail: `active again after ${idleHours.toFixed(1)} h (event time)`,
      },
    ],
    trigger: 'EVENT',
    modelVersion: model.modelVersion,
    status: 'RESOLVED',
    resolution: 'USER_RETURNED',
    replacesAlertId: null,
  };
}
