import { windowEntries, windowLength } from '../../../src/core/event-window';
import { createHash } from 'node:crypto';
import { EVENT_KEY_BASE, eventKey, legacyEventKey } from '../../../src/core/ids';
import { DEFAULT_PARAMS } from '../../../src/core/params';
import type { ClickEvent } from '../../../src/core/types';
import type { EventEncoding, ModelContext, UserState } from '../../../src/core/user-state';
import {
  applyEvent,
  hiddenFor,
  isDuplicate,
  newUserState,
  rememberEventKey,
} from '../../../src/core/user-state';

const MODEL: ModelContext = {
  modelVersion: 'm1',
  segmentCentroids: [],
  segmentLabels: [],
  inactivityHorizonMs: 86_400_000,
};

function enc(i: number): EventEncoding {
  const v = new Float32Array([Math.cos(i), Math.sin(i), 0, 0]);
  return { h: new Float32Array([i, i + 1]), embedding: v, inactivityLogit: -1 };
}

function event(i: number, categoryId = 'c1'): ClickEvent {
  return {
    eventId: `e${i}`,
    userId: 'u1',
    itemId: `i${i}`,
    categoryId,
    kind: 'view',
    eventTimeMs: 1_700_000_000_000 + i * 60_000,
  };
}

function run(n: number, category = (i: number) => `c${i % 3}`): UserState {
  let s: UserState | null = null;
  for (let i = 0; i < n; i++) s = applyEvent(s, event(i, category(i)), enc(i), DEFAULT_PARAMS, MODEL).state;
  return s as UserState;
}

describe('user state', () => {
  it('starts empty, and the first event sets counts, times, window and embeddings', () => {
    const fresh = newUserState('u1', 'm1');
    expect(fresh.eventCount).toBe(0);
    expect(fresh.hidden).toBeNull();
    const { state } = applyEvent(null, event(0), enc(0), DEFAULT_PARAMS, MODEL);
    expect(state.eventCount).toBe(1);
    expect(state.firstEventTimeMs).toBe(event(0).eventTimeMs);
    expect(state.lastEventTimeMs).toBe(event(0).eventTimeMs);
    expect(windowEntries(state.window)).toEqual([
      { categoryId: 'c1', kind: 'view', eventTimeMs: event(0).eventTimeMs },
    ]);
    expect(state.hidden).toEqual([0, 1]);
    expect(state.recentEventKeys).toEqual([eventKey('e0')]);
  });

  it('is deterministic and never mutates its input', () => {
    const before = run(20);
    const untouched = run(20);
    const a = applyEvent(before, event(20), enc(20), DEFAULT_PARAMS, MODEL);
    const b = applyEvent(before, event(20), enc(20), DEFAULT_PARAMS, MODEL);
    expect(a).toEqual(b);
    expect(before).toEqual(untouched);
  });

  it('keeps the window and the dedup ids bounded however long the history', () => {
    const s = run(DEFAULT_PARAMS.windowEvents * 5);
    expect(s.eventCount).toBe(DEFAULT_PARAMS.windowEvents * 5);
    expect(windowLength(s.window)).toBe(DEFAULT_PARAMS.windowEvents);
    expect(s.recentEventKeys.length).toBeLessThanOrEqual(DEFAULT_PARAMS.dedupIds);
    expect(s.recentEventKeys[s.recentEventKeys.length - 1]).toBe(
      eventKey(`e${DEFAULT_PARAMS.windowEvents * 5 - 1}`),
    );
  });

  it('recognises a recent event id, and forgets the oldest past the bound', () => {
    let ids: number[] = [];
    for (let i = 0; i < 5; i++) ids = rememberEventKey(ids, eventKey(`e${i}`), 3);
    expect(ids).toEqual(['e2', 'e3', 'e4'].map(eventKey));
    expect(isDuplicate(ids, eventKey('e4'), 'e4')).toBe(true);
    expect(isDuplicate(ids, eventKey('e1'), 'e1')).toBe(false);
  });

  it('recognises ids a restored memory holds as SHA-256 keys (written before e8e72ef) until newer ones push them out', () => {
    let ids = ['old-1', 'old-2'].map(legacyEventKey);
    ids = rememberEventKey(ids, eventKey('new-1'), 3);
    for (const id of ['old-1', 'old-2']) expect(isDuplicate(ids, eventKey(id), id)).toBe(true);
    expect(isDuplicate(ids, eventKey('new-1'), 'new-1')).toBe(true);
    expect(isDuplicate(ids, eventKey('other'), 'other')).toBe(false);
    ids = rememberEventKey(ids, eventKey('new-2'), 3);
    expect(isDuplicate(ids, eventKey('old-1'), 'old-1')).toBe(false);
    expect(isDuplicate(ids, eventKey('old-2'), 'old-2')).toBe(true);
    ids = rememberEventKey(ids, eventKey('new-3'), 3);
    expect(ids.every((k) => k >= EVENT_KEY_BASE)).toBe(true);
    expect(isDuplicate(ids, eventKey('old-2'), 'old-2')).toBe(false);
  });

  it('keys event ids by a 52-bit hash above 2^52: integers a double holds exactly, distinct for distinct ids', () => {
    const keys = Array.from({ length: 100_000 }, (_, i) => eventKey(`tb-${i}`));
    for (const k of keys) {
      expect(Number.isSafeInteger(k)).toBe(true);
      expect(k).toBeGreaterThanOrEqual(EVENT_KEY_BASE);
      expect(k).toBeLessThan(2 * EVENT_KEY_BASE);
    }
    expect(new Set(keys).size).toBe(keys.length);
    // Every low bit varies (the hash is not cut to fewer bits than it claims).
    const lowBits = keys.reduce((m, k) => m | (k % 2 ** 30), 0);
    expect(lowBits).toBe(2 ** 30 - 1);
    const highBits = keys.reduce((m, k) => m | Math.floor((k - EVENT_KEY_BASE) / 2 ** 30), 0);
    expect(highBits).toBe(2 ** 22 - 1);
    // Pinned: a key change would make restored dedup memories forget every remembered id.
    expect(eventKey('abc')).toBe(EVENT_KEY_BASE + 556323267775629);
    expect(legacyEventKey('abc')).toBe(
      parseInt(createHash('sha256').update('abc').digest('hex').slice(0, 13), 16),
    );
    expect(legacyEventKey('abc')).toBeLessThan(EVENT_KEY_BASE);
  });

  it('restarts the encoder sequence for a state written by another model version', () => {
    const s = run(3);
    expect(hiddenFor(s, MODEL)).toBe(s.hidden);
    expect(hiddenFor(s, { ...MODEL, modelVersion: 'm2' })).toBeNull();
    expect(hiddenFor(null, MODEL)).toBeNull();
  });
});
