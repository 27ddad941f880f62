/**
 * The InterestProfile of a user (topic interest.profiles): the lookup API's view of the user plus
 * the long-term embedding, emitted at most once per CoreParams.profileMinIntervalMs of event time.
 */
import { interestView } from './interest-view';
import type { CoreParams } from './params';
import type { ModelContext, StepResult, UserState } from './user-state';

/** An InterestProfile output if the user's last one is older than the rate limit, else null. */
export function maybeProfile(s: UserState, params: CoreParams, model: ModelContext): StepResult | null {
  if (!s.longEmbedding) return null;
  if (s.profileEmittedAtMs > 0 && s.lastEventTimeMs - s.profileEmittedAtMs < params.profileMinIntervalMs)
    return null;
  const view = interestView(s, model, params.topCategories, params.churn);
  const m = s.lastMigration;
  return {
    state: { ...s, profileEmittedAtMs: s.lastEventTimeMs },
    outputs: [
      {
        kind: 'profile',
        value: {
          userId: s.userId,
          updatedAtEventTimeMs: s.lastEventTimeMs,
          embedding: Array.from(s.longEmbedding),
          segment: view.segment,
          topCategories: view.longTerm,
          eventCount: s.eventCount,
          modelVersion: model.modelVersion,
          shortTermCategories: view.shortTerm,
          drift: {
            phase: view.drift.phase,
            score: view.drift.score,
            lastMigration: m
              ? {
                  fromCategoryIds: m.fromCategoryIds,
                  toCategoryIds: m.toCategoryIds,
                  detectedAtEventTimeMs: m.detectedAtMs,
                }
              : null,
          },
          churn: view.churn,
        },
      },
    ],
  };
}
