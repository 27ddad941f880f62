/**
 * The committed user states of one partition.
 *
 * Most states are held as their version-3 changelog values: restore copies values in without
 * decoding them, and a state is decoded only when an event, timer or lookup needs it. The values
 * live in large pages outside the V8 heap (ValuePages), one slot per user: restore copies each
 * value once, and the garbage collector neither copies nor marks a million of them.
 *
 * The states written most recently are also kept decoded, in a bounded cache (`liveCapacity`
 * users, least recently written out first): an active user's next event then needs no decode, and
 * a state is encoded once when it leaves the cache or the changelog needs its bytes, not once per
 * transaction that touches it. A cached state may be newer than its encoded value ("stale"); the
 * encoded value is brought up to date before anyone reads bytes. Invariants: every user has a
 * slot; a stale user is in `live`, and its slot holds an older value (or none yet).
 */
import type { UserState } from '../core/user-state';
import type { StateTimes, StateView } from './state-view';
import { checkStateAt, decodeState, encodeState, stateTimes } from './state-codec';
import { ValuePages } from './value-pages';

/** Decoded states kept per partition by default (about 3 KB each: 2.4 KB heap, 0.5 KB typed arrays). */
export const DEFAULT_LIVE_STATES = 4096;

export class StateStore implements StateView {
  /** Each user's slot in `pages`. */
  private readonly slots = new Map<string, number>();
  private readonly pages = new ValuePages();
  /** Decoded states, least recently written first. */
  private readonly live = new Map<string, UserState>();
  /** Users whose current state is only the decoded one in `live`. */
  private readonly stale = new Set<string>();

  constructor(private readonly liveCapacity: number = DEFAULT_LIVE_STATES) {}

  get size(): number {
    return this.slots.size;
  }

  /** Users held decoded (a gauge for memory accounting). */
  get liveSize(): number {
    return this.live.size;
  }

  get(userId: string): UserState | undefined {
    const s = this.live.get(userId);
    if (s !== undefined) return s;
    const slot = this.slots.get(userId);
    return slot === undefined ? undefined : decodeState(userId, this.pages.view(slot));
  }

  /** The user's version-3 value (encoding a stale state first), or undefined. */
  bytes(userId: string): Uint8Array | undefined {
    const slot = this.slots.get(userId);
    if (slot === undefined) return undefined;
    if (this.stale.has(userId)) {
      const value = encodeState(this.live.get(userId) as UserState);
      this.pages.write(slot, value);
      this.stale.delete(userId);
      return value;
    }
    return this.pages.copy(slot);
  }

  /**
   * Keeps a copy of `value` from byte `from` on, a version-3 state (throws on anything else);
   * restore's path (a version-4 value holds its state from byte 10: no view needed).
   */
  put(userId: string, value: Uint8Array, from = 0): void {
    checkStateAt(value, from);
    this.pages.write(this.slotOf(userId), value, from);
    this.live.delete(userId);
    this.stale.delete(userId);
  }

  /** A newly committed state; encoded later (see the module comment). */
  set(userId: string, state: UserState): void {
    this.slotOf(userId);
    this.live.delete(userId);
    this.live.set(userId, state);
    this.stale.add(userId);
    this.evict();
  }

  /** A newly committed state whose value the caller has just encoded (for the changelog). */
  setEncoded(userId: string, state: UserState, value: Uint8Array): void {
    this.pages.write(this.slotOf(userId), value);
    this.stale.delete(userId);
    this.live.delete(userId);
    this.live.set(userId, state);
    this.evict();
  }

  delete(userId: string): void {
    const slot = this.slots.get(userId);
    if (slot !== undefined) this.pages.release(slot);
    this.slots.delete(userId);
    this.live.delete(userId);
    this.stale.delete(userId);
  }

  has(userId: string): boolean {
    return this.slots.has(userId);
  }

  scan(visit: (userId: string, times: StateTimes) => void): void {
    for (const [u, slot] of this.slots) {
      const s = this.stale.has(u) ? this.live.get(u) : undefined;
      if (s === undefined) visit(u, stateTimes(this.pages.view(slot)));
      else visit(u, { lastEventTimeMs: s.lastEventTimeMs, nextTimerTimeMs: s.churn.nextTimerTimeMs });
    }
  }

  /** Total bytes of the encoded values (stale states are encoded first, so every user counts). */
  valueBytes(): number {
    for (const u of [...this.stale]) this.bytes(u);
    return this.pages.valueBytes;
  }

  private slotOf(userId: string): number {
    let slot = this.slots.get(userId);
    if (slot === undefined) {
      slot = this.pages.newSlot();
      this.slots.set(userId, slot);
    }
    return slot;
  }

  /** Drops the least recently written decoded states over capacity, encoding the stale ones. */
  private evict(): void {
    while (this.live.size > this.liveCapacity) {
      const userId = this.live.keys().next().value;
      if (userId === undefined) return;
      if (this.stale.has(userId)) this.bytes(userId);
      this.live.delete(userId);
    }
  }
}
