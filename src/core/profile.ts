/**
 * The InterestProfile of a user (topic interest.profiles): the lookup API's view of the user plus
 * the long-term embedding, emitted at most once per CoreParams.profileMinIntervalMs of event time.
 */
import { topShares } from './decayed-histogram';
import { churnView } from './interest-view';
import type { CoreParams } from './params';
import type { ModelContext, StepResult, UserState } from './user-state';
import { segmentRef } from './user-state';

/** An InterestProfile output if the user's last one is older than the rate limit, else null. */
export function maybeProfile(s: UserState, params: CoreParams, model: ModelContext): StepResult | null {
  if (!s.longEmbedding) return null;
  if (s.profileEmittedAtMs > 0 && s.lastEventTimeMs - s.profileEmittedAtMs < params.profileMinIntervalMs)
    return null;
  // The lookup view's parts the profile carries (not interestView: its ISO times are not needed here).
  const m = s.lastMigration;
  return {
    state: { ...s, profileEmittedAtMs: s.lastEventTimeMs },
    outputs: [
      {
        kind: 'profile',
        value: {
          userId: s.userId,
          updatedAtEventTimeMs: s.lastEventTimeMs,
          embedding: s.longEmbedding,
          segment: segmentRef(s.longEmbedding, model),
          topCategories: topShares(s.longHorizon, params.topCategories),
          eventCount: s.eventCount,
          modelVersion: model.modelVersion,
          shortTermCategories: topShares(s.shortHorizon, params.topCategories),
          drift: {
            phase: s.drift.phase,
            score: s.driftScore,
            lastMigration: m
              ? {
                  fromCategoryIds: m.fromCategoryIds,
                  toCategoryIds: m.toCategoryIds,
                  detectedAtEventTimeMs: m.detectedAtMs,
                }
              : null,
          },
          churn: churnView(s, params.churn),
        },
      },
    ],
  };
}
