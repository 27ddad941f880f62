/**
 * Validation of a decoded input event. Pure: everything it compares against is in the record
 * (its key and Kafka timestamp) or the limits, never the wall clock, so a replay judges every
 * record the same way.
 */
import type { ClickEvent, EventKind } from './types';

export interface ValidationLimits {
  /** Event time may lead the record's Kafka timestamp by at most this, ms. */
  readonly maxFutureMs: number;
  /** Event time may trail the record's Kafka timestamp by at most this, ms; 0 = no limit. */
  readonly maxAgeMs: number;
  /** Event times before this are rejected outright, epoch ms. */
  readonly minEventTimeMs: number;
  /**
   * Event times after this are rejected outright, epoch ms, whatever the record timestamp says
   * (a producer sets CreateTime; the input topic's message.timestamp.after.max.ms bounds it on
   * the broker, see src/kafka/topics.ts). Also keeps every time a valid JavaScript Date.
   */
  readonly maxEventTimeMs: number;
  /** Upper bound on id lengths, characters. */
  readonly maxIdLength: number;
}

export const DEFAULT_LIMITS: ValidationLimits = {
  maxFutureMs: 3_600_000,
  // Off by default: a replay of a historical dataset stamps its records when it produces them,
  // so the 2017 samples would trail their records by over 10 years from 2027 on.
  maxAgeMs: 0,
  minEventTimeMs: Date.UTC(2000, 0, 1),
  maxEventTimeMs: Date.UTC(2100, 0, 1),
  maxIdLength: 256,
};

/** The decoded Avro record, as the reader schema shapes it. */
export interface RawEvent {
  readonly eventId: string;
  readonly userId: string;
  readonly itemId: string;
  readonly categoryId: string;
  readonly eventType: string;
  readonly eventTimeMs: number;
}

export type Validation =
  | { readonly ok: true; readonly event: ClickEvent }
  | {
      readonly ok: false;
      readonly code:
        'VALIDATE_FIELD_INVALID' | 'VALIDATE_UNKNOWN_EVENT_TYPE' | 'VALIDATE_TIMESTAMP_OUT_OF_RANGE';
      /** Names fields and limits, never values (they may be personal data). */
      readonly message: string;
    };

const KINDS: Readonly<Record<string, EventKind>> = {
  VIEW: 'view',
  CLICK: 'click',
  CART: 'cart',
  FAVORITE: 'favorite',
  PURCHASE: 'purchase',
};

export function validateEvent(
  raw: RawEvent,
  recordKey: string | null,
  recordTimestampMs: number,
  limits: ValidationLimits = DEFAULT_LIMITS,
): Validation {
  for (const field of ['eventId', 'userId', 'itemId', 'categoryId'] as const) {
    const v = raw[field];
    if (typeof v !== 'string' || v.trim().length === 0) {
      return { ok: false, code: 'VALIDATE_FIELD_INVALID', message: `${field} is empty` };
    }
    if (v.includes('\u0000')) {
      // NUL is reserved: the changelog's checkpoint record has a key starting with it.
      return { ok: false, code: 'VALIDATE_FIELD_INVALID', message: `${field} contains a NUL character` };
    }
    if (v.length > limits.maxIdLength) {
      return {
        ok: false,
        code: 'VALIDATE_FIELD_INVALID',
        message: `${field} is longer than ${limits.maxIdLength} characters`,
      };
    }
  }
  if (recordKey === null)
    return { ok: false, code: 'VALIDATE_FIELD_INVALID', message: 'record key is missing' };
  if (recordKey !== raw.userId) {
    return { ok: false, code: 'VALIDATE_FIELD_INVALID', message: 'record key differs from userId' };
  }
  const kind = Object.hasOwn(KINDS, raw.eventType) ? KINDS[raw.eventType] : undefined;
  if (!kind)
    return {
      ok: false,
      code: 'VALIDATE_UNKNOWN_EVENT_TYPE',
      message: `event type ${raw.eventType} is not handled`,
    };
  const t = raw.eventTimeMs;
  if (!Number.isSafeInteger(t) || t < limits.minEventTimeMs) {
    return {
      ok: false,
      code: 'VALIDATE_TIMESTAMP_OUT_OF_RANGE',
      message: `eventTimeMs is before ${new Date(limits.minEventTimeMs).toISOString()}`,
    };
  }
  if (t > limits.maxEventTimeMs) {
    return {
      ok: false,
      code: 'VALIDATE_TIMESTAMP_OUT_OF_RANGE',
      message: `eventTimeMs is after ${new Date(limits.maxEventTimeMs).toISOString()}`,
    };
  }
  if (t > recordTimestampMs + limits.maxFutureMs) {
    return {
      ok: false,
      code: 'VALIDATE_TIMESTAMP_OUT_OF_RANGE',
      message: `eventTimeMs is more than ${limits.maxFutureMs} ms after the record timestamp`,
    };
  }
  if (limits.maxAgeMs > 0 && t < recordTimestampMs - limits.maxAgeMs) {
    return {
      ok: false,
      code: 'VALIDATE_TIMESTAMP_OUT_OF_RANGE',
      message: `eventTimeMs is more than ${limits.maxAgeMs} ms before the record timestamp`,
    };
  }
  return {
    ok: true,
    event: {
      eventId: raw.eventId,
      userId: raw.userId,
      itemId: raw.itemId,
      categoryId: raw.categoryId,
      kind,
      eventTimeMs: t,
    },
  };
}
