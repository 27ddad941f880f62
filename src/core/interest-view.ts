/**
 * What the interest lookup API (and the profile topic) says about one user, computed from the
 * user's committed state: pure, so every instance answers the same for the same state.
 */
import { levelName } from './churn-scorer';
import { topShares } from './decayed-histogram';
import type { ChurnLevelName, CategoryShare, SegmentRef } from './types';
import { hazardRisk } from './churn-hazard';
import type { ChurnParams } from './params';
import type { ModelContext, UserState } from './user-state';
import { segmentRef } from './user-state';

export interface InterestView {
  readonly userId: string;
  /** Top categories of the short horizon (last few events), shares of its decayed weight. */
  readonly shortTerm: readonly CategoryShare[];
  /** Top categories of the long horizon (the reference the drift detector compares against). */
  readonly longTerm: readonly CategoryShare[];
  /** Nearest segment of the long-term embedding, with its label. */
  readonly segment: SegmentRef;
  readonly drift: {
    readonly phase: UserState['drift']['phase'];
    /** Drift score after the last event, 0..1. */
    readonly score: number;
    readonly lastMigration: {
      readonly fromCategoryIds: readonly string[];
      readonly toCategoryIds: readonly string[];
      /** Event time of detection, ISO 8601. */
      readonly detectedAt: string;
    } | null;
  };
  readonly churn: {
    readonly level: ChurnLevelName;
    /**
     * Model probability of no event within the inactivity horizon after the last event: the churn
     * hazard's at idle time 0 when the service runs one, else the encoder's inactivity head.
     */
    readonly inactivityProbability: number;
    readonly openAlertId: string | null;
  };
  readonly eventCount: number;
  readonly modelVersion: string;
  /** Event time of the last event applied, ISO 8601. */
  readonly lastEventTime: string;
}

export function interestView(
  s: UserState,
  model: ModelContext,
  topN: number,
  churn: Pick<ChurnParams, 'hazard'> | null = null,
): InterestView {
  const m = s.lastMigration;
  return {
    userId: s.userId,
    shortTerm: topShares(s.shortHorizon, topN),
    longTerm: topShares(s.longHorizon, topN),
    // An embedding of another model (a state not yet touched since a model upgrade) is in another
    // space: matched against this model's centroids it would name a segment that means nothing.
    segment: segmentRef(s.modelVersion === model.modelVersion ? s.longEmbedding : null, model),
    drift: {
      phase: s.drift.phase,
      score: s.driftScore,
      lastMigration: m
        ? {
            fromCategoryIds: m.fromCategoryIds,
            toCategoryIds: m.toCategoryIds,
            detectedAt: new Date(m.detectedAtMs).toISOString(),
          }
        : null,
    },
    churn: churnView(s, churn),
    eventCount: s.eventCount,
    modelVersion: s.modelVersion,
    lastEventTime: new Date(s.lastEventTimeMs).toISOString(),
  };
}

/** The churn part of the view (also the profile topic's). */
export function churnView(
  s: UserState,
  churn: Pick<ChurnParams, 'hazard'> | null = null,
): InterestView['churn'] {
  return {
    level: levelName(s.churn.level),
    inactivityProbability: churn?.hazard
      ? hazardRisk(churn.hazard, s, s.lastEventTimeMs)
      : s.churn.inactivityProbability,
    openAlertId: s.churn.openAlertId,
  };
}
