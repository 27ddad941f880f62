import type { WindowEntry } from '../../../src/core/event-window';
import {
  EMPTY_WINDOW,
  appendToWindow,
  windowEntries,
  windowEntry,
  windowLength,
  windowOf,
} from '../../../src/core/event-window';
import { EVENT_KINDS } from '../../../src/core/types';

const T0 = Date.UTC(2017, 10, 25);
const entry = (i: number): WindowEntry => ({
  categoryId: `c${i}`,
  kind: EVENT_KINDS[i % EVENT_KINDS.length] as WindowEntry['kind'],
  // Past 2^31 ms and not a whole number of seconds: the times must stay exact doubles.
  eventTimeMs: T0 + i * 60_001,
});

describe('event-window', () => {
  it('packs entries and gives them back unchanged, every kind included', () => {
    const entries = Array.from({ length: 7 }, (_, i) => entry(i));
    const w = windowOf(entries);
    expect(windowLength(w)).toBe(7);
    expect(windowEntries(w)).toEqual(entries);
    expect(windowEntry(w, 3)).toEqual(entries[3]);
    expect(windowOf([])).toBe(EMPTY_WINDOW);
    expect(windowEntries(EMPTY_WINDOW)).toEqual([]);
  });

  it('appends, keeps the last max entries oldest first, and leaves its input as it was', () => {
    const max = 4;
    let w = EMPTY_WINDOW;
    const seen: WindowEntry[] = [];
    for (let i = 0; i < 10; i++) {
      const before = windowEntries(w);
      const next = appendToWindow(w, entry(i), max);
      expect(windowEntries(w)).toEqual(before);
      seen.push(entry(i));
      expect(windowEntries(next)).toEqual(seen.slice(-max));
      w = next;
    }
    expect(windowLength(w)).toBe(max);
    expect(windowLength(EMPTY_WINDOW)).toBe(0);
  });

  it('gives each window arrays of its own', () => {
    const a = appendToWindow(EMPTY_WINDOW, entry(1), 3);
    const b = appendToWindow(a, entry(2), 3);
    expect(b.times).not.toBe(a.times);
    expect(b.kinds).not.toBe(a.kinds);
    expect(b.categories).not.toBe(a.categories);
  });
});
