/**
 * Tunables of the core. Defaults here; thresholds calibrated on real data come from the model
 * metadata (`thresholds`), and the config can override either (app/config.ts).
 */
import type { ChurnHazardWeights } from './churn-hazard';
import type { Horizon } from './decayed-histogram';
import type { EventKind } from './types';

export interface DriftParams {
  /** Score at or above which a stable user becomes a suspect. */
  readonly enterThreshold: number;
  /** A suspect whose score falls below this is stable again (hysteresis; < enterThreshold). */
  readonly exitThreshold: number;
  /** Consecutive events at or above exitThreshold (starting with one ≥ enterThreshold) needed to fire. */
  readonly minEvidenceEvents: number;
  /** No detection before the long-term reference profile holds this many events. */
  readonly minHistoryEvents: number;
  /** After a migration, no other one for this long, event time, ms. */
  readonly cooldownMs: number;
  /** Weight of the embedding distance in the score; the category divergence gets 1 − this. */
  readonly embeddingWeight: number;
}

export interface ChurnParams {
  /** Risk thresholds of LOW, MEDIUM, HIGH (increasing, in (0, 1)). */
  readonly levelThresholds: readonly [number, number, number];
  /**
   * Without a hazard model only: idle time over which the inactivity head's "still active"
   * probability decays by 1/e, event time, ms.
   */
  readonly idleScaleMs: number;
  /**
   * The learned churn hazard (churn-hazard.ts): the risk is its probability of no event within
   * the horizon, re-scored on a ladder of idle times. null = the inactivity head grown by idle
   * time (churn-scorer.ts), as before 0.5.
   */
  readonly hazard: ChurnHazardWeights | null;
}

export interface CoreParams {
  /** Events kept in the rolling window per user. */
  readonly windowEvents: number;
  /** Recent event ids remembered per user for deduplication. */
  readonly dedupIds: number;
  /** Categories kept per histogram. */
  readonly maxCategories: number;
  /** Short horizon of the category histogram (what the user is into now). */
  readonly shortHorizon: Horizon;
  /**
   * Long horizon of the category histogram (what the user is usually into). It is a REFERENCE
   * profile: an event enters it only once it is `referenceLagEvents` events old, so the events
   * the short horizon is looking at are not also diluting what they are compared with.
   */
  readonly longHorizon: Horizon;
  /** Events an event waits before it enters the long-horizon reference (< windowEvents). */
  readonly referenceLagEvents: number;
  /** Half-life of the short-term embedding average, in events (1 = the latest embedding). */
  readonly shortEmbeddingHalfLifeEvents: number;
  /** Half-life of the churn scorer's recent activity rate, event time, ms. */
  readonly recentRateHalfLifeMs: number;
  /** Half-life of the churn scorer's baseline activity rate, event time, ms. */
  readonly baselineRateHalfLifeMs: number;
  /** Half-life of the long-term embedding average, in events. */
  readonly longEmbeddingHalfLifeEvents: number;
  /** Events older than the partition watermark by more than this are dropped as late, ms. */
  readonly allowedLatenessMs: number;
  /** Minimum event time between two InterestProfile records of a user, ms. */
  readonly profileMinIntervalMs: number;
  /**
   * A user whose last event is older than this behind the partition watermark is evicted: the
   * state goes (changelog tombstone) and a later event starts the user afresh. Event time, ms;
   * 0 = keep every user for ever.
   */
  readonly stateTtlMs: number;
  /** Categories reported in from/to lists and profiles. */
  readonly topCategories: number;
  readonly eventWeights: Readonly<Record<EventKind, number>>;
  readonly drift: DriftParams;
  readonly churn: ChurnParams;
}

const HOUR_MS = 3_600_000;

export const DEFAULT_PARAMS: CoreParams = {
  windowEvents: 32,
  dedupIds: 32,
  maxCategories: 24,
  shortHorizon: { halfLifeEvents: 8, halfLifeMs: 0 },
  longHorizon: { halfLifeEvents: 150, halfLifeMs: 0 },
  referenceLagEvents: 16,
  shortEmbeddingHalfLifeEvents: 4,
  recentRateHalfLifeMs: 24 * HOUR_MS,
  baselineRateHalfLifeMs: 7 * 24 * HOUR_MS,
  longEmbeddingHalfLifeEvents: 40,
  allowedLatenessMs: 10 * 60_000,
  profileMinIntervalMs: 10 * 60_000,
  stateTtlMs: 30 * 24 * HOUR_MS,
  topCategories: 3,
  eventWeights: { view: 1, click: 1, cart: 2, favorite: 2, purchase: 3 },
  drift: {
    enterThreshold: 0.3,
    exitThreshold: 0.2,
    minEvidenceEvents: 12,
    minHistoryEvents: 20,
    cooldownMs: 24 * HOUR_MS,
    embeddingWeight: 0.25,
  },
  churn: { levelThresholds: [0.5, 0.75, 0.9], idleScaleMs: 24 * HOUR_MS, hazard: null },
};
