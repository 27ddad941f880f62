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
