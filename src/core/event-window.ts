/**
 * A user's last events, oldest first, packed: entry i is (categories[i], EVENT_KINDS[kinds[i]],
 * times[i] epoch ms). Immutable, like the rest of a user's state: appending returns a new window.
 *
 * Why packed: as an array of { categoryId, kind, eventTimeMs } objects, each entry was three heap
 * objects (the object, its boxed double and its string). Decoded states stay cached, so the
 * collector promoted them and marked them on every mark-compact, on the main thread: the stalls
 * of the latency phase (test/bench/results/gc-in-latency). Packed, a window is five objects
 * whatever its length, plus the category strings, which callers share (see withSharedStrings in
 * partition-processor.ts).
 */
import type { EventKind } from './types';
import { EVENT_KINDS } from './types';

export interface WindowEntry {
  readonly categoryId: string;
  readonly kind: EventKind;
  readonly eventTimeMs: number;
}

export interface EventWindow {
  readonly categories: readonly string[];
  /** Index of each event's kind in EVENT_KINDS. */
  readonly kinds: Uint8Array;
  /**
   * Event time of each event, epoch ms. A plain array of doubles (unboxed in V8), not a
   * Float64Array: a typed array over 64 bytes has its store allocated off the heap, which costs
   * about 0.8 µs on node 24 against tens of ns for the array, once per event.
   */
  readonly times: readonly number[];
}

export const EMPTY_WINDOW: EventWindow = {
  categories: [],
  kinds: new Uint8Array(0),
  times: [],
};

const KIND_INDEX: Readonly<Record<EventKind, number>> = Object.fromEntries(
  EVENT_KINDS.map((k, i) => [k, i]),
) as Record<EventKind, number>;

/** The kind's index in EVENT_KINDS (what `kinds` holds and the v3 changelog value stores). */
export function eventKindIndex(kind: EventKind): number {
  return KIND_INDEX[kind];
}

export function windowLength(w: EventWindow): number {
  return w.categories.length;
}

/** Entry i as an object (for reports and tests; the hot paths read the arrays). */
export function windowEntry(w: EventWindow, i: number): WindowEntry {
  return {
    categoryId: w.categories[i] as string,
    kind: EVENT_KINDS[w.kinds[i] as number] as EventKind,
    eventTimeMs: w.times[i] as number,
  };
}

export function windowEntries(w: EventWindow): WindowEntry[] {
  return w.categories.map((_, i) => windowEntry(w, i));
}

export function windowOf(entries: readonly WindowEntry[]): EventWindow {
  if (entries.length === 0) return EMPTY_WINDOW;
  const kinds = new Uint8Array(entries.length);
  entries.forEach((e, i) => {
    kinds[i] = eventKindIndex(e.kind);
  });
  return { categories: entries.map((e) => e.categoryId), kinds, times: entries.map((e) => e.eventTimeMs) };
}

/** The last `max` entries of (w + e), copied once. */
export function appendToWindow(w: EventWindow, e: WindowEntry, max: number): EventWindow {
  const n = windowLength(w);
  const from = Math.max(0, n + 1 - max);
  const m = n + 1 - from;
  const categories = new Array<string>(m);
  const kinds = new Uint8Array(m);
  const times = new Array<number>(m);
  for (let i = from; i < n; i++) {
    categories[i - from] = w.categories[i] as string;
    kinds[i - from] = w.kinds[i] as number;
    times[i - from] = w.times[i] as number;
  }
  categories[m - 1] = e.categoryId;
  kinds[m - 1] = eventKindIndex(e.kind);
  times[m - 1] = e.eventTimeMs;
  return { categories, kinds, times };
}
