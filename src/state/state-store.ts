/**
 * The committed user states of one partition.
 *
 * Most states are held as their version-3 changelog values: restore copies values in without
 * decoding them, and a state is decoded only when an event, timer or lookup needs it. The values
 * live in large pages outside the V8 heap (ValuePages), one slot per user: restore keeps each
 * value where the fetch put it (or copies it once), and the garbage collector neither copies nor
 * marks a million of them.
 *
 * The states written most recently are also kept decoded, in a cache bounded in estimated bytes
 * by a budget shared by every store of the process (StateCacheBudget; least recently written out
 * first) and, optionally, in users per store: an active user's next event then needs no decode,
 * and a state is encoded once when it leaves the cache or the changelog needs its bytes, not once
 * per transaction that touches it. A cached state may be newer than its encoded value ("stale");
 * the encoded value is brought up to date before anyone reads bytes. Invariants: every user has a
 * slot; a stale user is in `live`, and its slot holds an older value (or none yet); `liveBytes` is
 * the sum of `live`'s estimates.
 */
import type { UserState } from '../core/user-state';
import type { StateTimes, StateView } from './state-view';
import { checkStateAt, decodeState, encodeState, stateTimes } from './state-codec';
import type { CacheMember } from './state-cache-budget';
import { StateCacheBudget, decodedStateBytes } from './state-cache-budget';
import { ValuePages } from './value-pages';

export interface StateCacheOptions {
  /** The process's budget; a store without one gets its own, of the default size. */
  readonly budget?: StateCacheBudget;
  /** At most this many decoded states in this store (unset = the budget alone bounds them). */
  readonly maxUsers?: number;
}

interface Cached {
  readonly state: UserState;
  readonly bytes: number;
}

export class StateStore implements StateView, CacheMember {
  /** Each user's slot in `pages`. */
  private readonly slots = new Map<string, number>();
  private readonly pages = new ValuePages();
  /** Decoded states with their estimated bytes, least recently written first. */
  private readonly live = new Map<string, Cached>();
  private liveBytes = 0;
  /** Users whose current state is only the decoded one in `live`. */
  private readonly stale = new Set<string>();
  private readonly budget: StateCacheBudget;
  private readonly maxUsers: number;
  private membership: WeakRef<CacheMember> | undefined;

  constructor(cache: StateCacheOptions = {}) {
    this.budget = cache.budget ?? new StateCacheBudget();
    this.maxUsers = cache.maxUsers ?? Infinity;
    this.membership = this.budget.join(this);
  }

  get size(): number {
    return this.slots.size;
  }

  /** Users held decoded (a gauge for memory accounting). */
  get liveSize(): number {
    return this.live.size;
  }

  /** Estimated bytes of the decoded states held (CacheMember). */
  get cachedBytes(): number {
    return this.liveBytes;
  }

  get(userId: string): UserState | undefined {
    const c = this.live.get(userId);
    if (c !== undefined) return c.state;
    const slot = this.slots.get(userId);
    return slot === undefined ? undefined : decodeState(userId, this.pages.view(slot));
  }

  /** The user's version-3 value (encoding a stale state first), or undefined. */
  bytes(userId: string): Uint8Array | undefined {
    const slot = this.slots.get(userId);
    if (slot === undefined) return undefined;
    if (this.stale.has(userId)) {
      const value = encodeState((this.live.get(userId) as Cached).state);
      this.pages.write(slot, value);
      this.stale.delete(userId);
      return value;
    }
    return this.pages.copy(slot);
  }

  /**
   * Keeps `value` from byte `from` on, a version-3 state (throws on anything else); restore's path
   * (a version-4 value holds its state from byte 10: no view needed). The store takes over the
   * bytes (ValuePages.adopt: a value inside a large fetch response stays there, uncopied), so the
   * caller must not change them afterwards. Returns the user's slot (see `forEachSlot`).
   */
  put(userId: string, value: Uint8Array, from = 0): number {
    checkStateAt(value, from);
    const slot = this.slotOf(userId);
    this.pages.adopt(slot, value, from);
    this.uncache(userId);
    this.stale.delete(userId);
    return slot;
  }

  /** A newly committed state; encoded later (see the module comment). */
  set(userId: string, state: UserState): void {
    this.slotOf(userId);
    this.stale.add(userId);
    this.cache(userId, state);
  }

  /** A newly committed state whose value the caller has just encoded (for the changelog). */
  setEncoded(userId: string, state: UserState, value: Uint8Array): void {
    this.pages.write(this.slotOf(userId), value);
    this.stale.delete(userId);
    this.cache(userId, state);
  }

  delete(userId: string): void {
    const slot = this.slots.get(userId);
    if (slot !== undefined) this.pages.release(slot);
    this.slots.delete(userId);
    this.uncache(userId);
    this.stale.delete(userId);
  }

  has(userId: string): boolean {
    return this.slots.has(userId);
  }

  /**
   * Each user with its slot: a number unique among the users held now and below the largest number
   * of users held at once (slots are reused after `delete`); what `put` returned for the user.
   */
  forEachSlot(visit: (userId: string, slot: number) => void): void {
    for (const [u, slot] of this.slots) visit(u, slot);
  }

  scan(visit: (userId: string, times: StateTimes) => void): void {
    for (const [u, slot] of this.slots) {
      const s = this.stale.has(u) ? this.live.get(u)?.state : undefined;
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

  /**
   * Gives the budget back and keeps nothing decoded from now on (a dropped partition). Stale states
   * are encoded first, so a late reader still gets every user's current state.
   */
  close(): void {
    if (this.membership !== undefined) this.budget.leave(this.membership);
    this.membership = undefined;
    for (const u of this.stale) this.bytes(u);
    this.live.clear();
    this.liveBytes = 0;
  }

  /** Drops the least recently written decoded state, encoding it first if it is stale. */
  evictOldest(): void {
    const userId = this.live.keys().next().value;
    if (userId === undefined) return;
    if (this.stale.has(userId)) this.bytes(userId);
    this.uncache(userId);
  }

  private cache(userId: string, state: UserState): void {
    this.uncache(userId);
    const bytes = decodedStateBytes(state);
    this.live.set(userId, { state, bytes });
    this.liveBytes += bytes;
    while (this.live.size > this.maxUsers) this.evictOldest();
    if (this.membership === undefined) this.evictOldest();
    else this.budget.fit();
  }

  private uncache(userId: string): void {
    const c = this.live.get(userId);
    if (c === undefined) return;
    this.live.delete(userId);
    this.liveBytes -= c.bytes;
  }
}
