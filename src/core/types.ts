/**
 * Domain types of the functional core. They are not the Avro types: kafka/ maps between the two,
 * so the core never depends on a wire format.
 */

export type EventKind = 'view' | 'click' | 'cart' | 'favorite' | 'purchase';

export const EVENT_KINDS: readonly EventKind[] = ['view', 'click', 'cart', 'favorite', 'purchase'];

/** A validated input event. Times are epoch milliseconds, event time. */
export interface ClickEvent {
  readonly eventId: string;
  readonly userId: string;
  readonly itemId: string;
  readonly categoryId: string;
  readonly kind: EventKind;
  readonly eventTimeMs: number;
}

export interface CategoryShare {
  readonly categoryId: string;
  readonly share: number;
}

export interface SegmentRef {
  readonly segmentId: number;
  readonly label: string;
}

export interface InterestMigration {
  readonly migrationId: string;
  readonly userId: string;
  readonly detectedAtEventTimeMs: number;
  readonly fromCategories: readonly CategoryShare[];
  readonly toCategories: readonly CategoryShare[];
  readonly fromSegment: SegmentRef;
  readonly toSegment: SegmentRef;
  readonly score: number;
  readonly confidence: number;
  readonly embeddingDistance: number;
  readonly categoryDivergence: number;
  readonly evidence: {
    readonly startEventTimeMs: number;
    readonly endEventTimeMs: number;
    readonly eventCount: number;
  };
  readonly modelVersion: string;
}

export type ChurnLevelName = 'NONE' | 'LOW' | 'MEDIUM' | 'HIGH';
export const CHURN_LEVELS: readonly ChurnLevelName[] = ['NONE', 'LOW', 'MEDIUM', 'HIGH'];

/** A gap longer than this between two events of a user starts a new session, ms. */
export const SESSION_GAP_MS = 30 * 60_000;

export type ChurnReasonCode =
  'IDLE_TIME' | 'ACTIVITY_DROP' | 'INTEREST_ENTROPY_COLLAPSE' | 'INACTIVITY_MODEL' | 'OTHER';

export interface ChurnReason {
  readonly code: ChurnReasonCode;
  readonly value: number;
  readonly detail: string;
}

export interface ChurnRisk {
  readonly alertId: string;
  readonly userId: string;
  readonly scoredAtEventTimeMs: number;
  readonly level: ChurnLevelName;
  readonly previousLevel: ChurnLevelName;
  readonly riskScore: number;
  readonly idleMs: number;
  readonly lastEventTimeMs: number;
  readonly reasons: readonly ChurnReason[];
  readonly trigger: 'EVENT' | 'EVENT_TIME_TIMER' | 'PROCESSING_TIME_TIMER';
  readonly modelVersion: string;
  /** RAISED opens an alert (closing `replacesAlertId`); RESOLVED closes the alert `alertId`. */
  readonly status: 'RAISED' | 'RESOLVED';
  /**
   * For RESOLVED: why it closed (OTHER: the user's state was removed, evicted after the state TTL
   * or erased, so no later event can close it); null for RAISED.
   */
  readonly resolution: 'USER_RETURNED' | 'OTHER' | null;
  /** For RAISED: the open alert this one replaces; null otherwise. */
  readonly replacesAlertId: string | null;
}

export interface InterestProfile {
  readonly userId: string;
  readonly updatedAtEventTimeMs: number;
  readonly embedding: readonly number[];
  readonly segment: SegmentRef;
  readonly topCategories: readonly CategoryShare[];
  readonly eventCount: number;
  readonly modelVersion: string;
  readonly shortTermCategories: readonly CategoryShare[];
  readonly drift: {
    readonly phase: string;
    readonly score: number;
    readonly lastMigration: {
      readonly fromCategoryIds: readonly string[];
      readonly toCategoryIds: readonly string[];
      readonly detectedAtEventTimeMs: number;
    } | null;
  };
  readonly churn: {
    readonly level: string;
    readonly inactivityProbability: number;
    readonly openAlertId: string | null;
  };
}

/** What one step of the core asks the shell to emit, in order. */
export type CoreOutput =
  | { readonly kind: 'migration'; readonly value: InterestMigration }
  | { readonly kind: 'churn'; readonly value: ChurnRisk }
  | { readonly kind: 'profile'; readonly value: InterestProfile };
