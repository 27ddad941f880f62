import type { RawEvent } from '../../../src/core/validate';
import { DEFAULT_LIMITS, validateEvent } from '../../../src/core/validate';

const T = Date.UTC(2017, 10, 26);
const good: RawEvent = {
  eventId: 'e',
  userId: 'u1',
  itemId: 'i',
  categoryId: 'c',
  eventType: 'CART',
  eventTimeMs: T,
};

describe('validateEvent', () => {
  it('rejects event times after 2100 even when the record timestamp is as late', () => {
    for (const t of [Date.UTC(2100, 0, 2), 8.7e15]) {
      const v = validateEvent({ ...good, eventTimeMs: t }, 'u1', t);
      expect(!v.ok && v.code).toBe('VALIDATE_TIMESTAMP_OUT_OF_RANGE');
    }
  });

  it('accepts a replay of old data stamped years later, unless a maximum age is configured', () => {
    const stamped = Date.UTC(2031, 0, 1);
    expect(validateEvent(good, 'u1', stamped).ok).toBe(true);
    const v = validateEvent(good, 'u1', stamped, { ...DEFAULT_LIMITS, maxAgeMs: 365 * 86_400_000 });
    expect(!v.ok && v.code).toBe('VALIDATE_TIMESTAMP_OUT_OF_RANGE');
  });

  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty'])(
    'does not take the name of an object property (%s) for an event type',
    (eventType) => {
      const v = validateEvent({ ...good, eventType }, 'u1', T);
      expect(!v.ok && v.code).toBe('VALIDATE_UNKNOWN_EVENT_TYPE');
    },
  );

  it('accepts a good event and maps its type', () => {
    const v = validateEvent(good, 'u1', T);
    expect(v.ok && v.event.kind).toBe('cart');
  });

  it.each([
    ['empty user id', { ...good, userId: ' ' }, 'u1', 'VALIDATE_FIELD_INVALID'],
    ['key mismatch', good, 'u2', 'VALIDATE_FIELD_INVALID'],
    ['missing key', good, null, 'VALIDATE_FIELD_INVALID'],
    ['unknown type', { ...good, eventType: 'UNKNOWN' }, 'u1', 'VALIDATE_UNKNOWN_EVENT_TYPE'],
    ['negative time', { ...good, eventTimeMs: -1 }, 'u1', 'VALIDATE_TIMESTAMP_OUT_OF_RANGE'],
    [
      'far future',
      { ...good, eventTimeMs: T + DEFAULT_LIMITS.maxFutureMs + 1 },
      'u1',
      'VALIDATE_TIMESTAMP_OUT_OF_RANGE',
    ],
    ['absurdly old', { ...good, eventTimeMs: Date.UTC(1990, 0, 1) }, 'u1', 'VALIDATE_TIMESTAMP_OUT_OF_RANGE'],
    ['huge id', { ...good, itemId: 'x'.repeat(300) }, 'u1', 'VALIDATE_FIELD_INVALID'],
  ])('rejects %s', (_name, raw, key, code) => {
    const v = validateEvent(raw, key, T);
    expect(v.ok).toBe(false);
    if (!v.ok) {
      expect(v.code).toBe(code);
      expect(v.message).not.toContain('u1');
    }
  });
});
