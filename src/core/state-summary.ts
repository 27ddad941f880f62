/**
 * A readable, JSON-ready summary of one user's state (for `interest-drift inspect` and other
 * read paths): times as ISO strings, histograms as top categories with shares, vectors by size.
 */
import { topShares } from './decayed-histogram';
import { windowEntries } from './event-window';
import type { UserState } from './user-state';

export interface StateSummary {
  readonly userId: string;
  readonly modelVersion: string;
  readonly eventCount: number;
  readonly firstEventTime: string | null;
  readonly lastEventTime: string | null;
  /** Top categories of the short horizon, shares of the decayed weight summing to ≤ 1. */
  readonly shortTermTop: readonly { readonly categoryId: string; readonly share: number }[];
  readonly longTermTop: readonly { readonly categoryId: string; readonly share: number }[];
  readonly window: readonly {
    readonly categoryId: string;
    readonly kind: string;
    readonly eventTime: string;
  }[];
  readonly drift: UserState['drift'];
  readonly churn: UserState['churn'];
  readonly dedupIdsRemembered: number;
  readonly vectors: {
    readonly hidden: number;
    readonly shortEmbedding: number;
    readonly longEmbedding: number;
  };
  readonly lastProfileEventTime: string | null;
}

const iso = (ms: number): string | null => (ms > 0 ? new Date(ms).toISOString() : null);

export function summariseState(s: UserState, topN = 5): StateSummary {
  return {
    userId: s.userId,
    modelVersion: s.modelVersion,
    eventCount: s.eventCount,
    firstEventTime: iso(s.firstEventTimeMs),
    lastEventTime: iso(s.lastEventTimeMs),
    shortTermTop: topShares(s.shortHorizon, topN),
    longTermTop: topShares(s.longHorizon, topN),
    window: windowEntries(s.window).map((w) => ({
      categoryId: w.categoryId,
      kind: w.kind,
      eventTime: iso(w.eventTimeMs) ?? '',
    })),
    drift: s.drift,
    churn: s.churn,
    dedupIdsRemembered: s.recentEventKeys.length,
    vectors: {
      hidden: s.hidden?.length ?? 0,
      shortEmbedding: s.shortEmbedding?.length ?? 0,
      longEmbedding: s.longEmbedding?.length ?? 0,
    },
    lastProfileEventTime: iso(s.profileEmittedAtMs),
  };
}
