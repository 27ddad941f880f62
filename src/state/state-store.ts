/**
 * The committed user states of one partition.
 *
 * Most states are held as their version-3 changelog values: restore copies values in without
 * decoding them, and a state is decoded only when an event, timer or lookup needs it. Each value
 * is kept as a one-byte (latin1) string rather than a Uint8Array: V8 stores such a string inline
 * with a 16-byte header, while every Uint8Array costs an ArrayBuffer, a backing store and their
 * bookkeeping (hundreds of bytes per user at a million users). The string is a byte-exact copy.
 *
 * The states written most recently are also kept decoded, in a bounded cache (`liveCapacity`
 * users, least recently written out first): an active user's next event then needs no decode, and
 * a state is encoded once when it leaves the cache or the changelog needs its bytes, not once per
 * transaction that touches it. A cached state may be newer than its encoded value ("stale"); the
 * encoded value is brought up to date before anyone reads bytes. Invariant: every user is in
 * exactly one of `values` and `stale`.
 */
import type { UserState } from '../core/user-state';
import type { StateTimes, StateView } from './state-view';
import { checkStateAt, decodeState, encodeState, stateTimes } from './state-codec';

/** The fixed header of a version-3 value (stateTimes reads and checks it). */
const HEADER_BYTES = 136;
const header = Buffer.alloc(HEADER_BYTES);

/** Decoded states kept per partition by default (about 3 KB each: 2.4 KB heap, 0.5 KB typed arrays). */
export const DEFAULT_LIVE_STATES = 4096;

export class StateStore implements StateView {
  /** Encoded values of every user not in `stale`. */
  private readonly values = new Map<string, string>();
  /** Decoded states, least recently written first. */
  private readonly live = new Map<string, UserState>();
  /** Users whose only current state is the decoded one in `live`. */
  private readonly stale = new Set<string>();

  constructor(private readonly liveCapacity: number = DEFAULT_LIVE_STATES) {}

  get size(): number {
    return this.values.size + this.stale.size;
  }

  /** Users held decoded (a gauge for memory accounting). */
  get liveSize(): number {
    return this.live.size;
  }

  get(userId: string): UserState | undefined {
    const s = this.live.get(userId);
    if (s !== undefined) return s;
    const v = this.values.get(userId);
    return v === undefined ? undefined : decodeState(userId, Buffer.from(v, 'latin1'));
  }

  /** The user's version-3 value (encoding a stale state first), or undefined. */
  bytes(userId: string): Uint8Array | undefined {
    if (this.stale.has(userId)) {
      const value = encodeState(this.live.get(userId) as UserState);
      this.keep(userId, value);
      this.stale.delete(userId);
      return value;
    }
    const v = this.values.get(userId);
    return v === undefined ? undefined : Buffer.from(v, 'latin1');
  }

  /**
   * Keeps a copy of `value` from byte `from` on, a version-3 state (throws on anything else);
   * restore's path (a version-4 value holds its state from byte 10: no view needed).
   */
  put(userId: string, value: Uint8Array, from = 0): void {
    checkStateAt(value, from);
    this.keep(userId, value, from);
    this.live.delete(userId);
    this.stale.delete(userId);
  }

  /** A newly committed state; encoded later (see the module comment). */
  set(userId: string, state: UserState): void {
    this.live.delete(userId);
    this.live.set(userId, state);
    if (!this.stale.has(userId)) {
      this.values.delete(userId);
      this.stale.add(userId);
    }
    this.evict();
  }

  /** A newly committed state whose value the caller has just encoded (for the changelog). */
  setEncoded(userId: string, state: UserState, value: Uint8Array): void {
    this.keep(userId, value);
    this.stale.delete(userId);
    this.live.delete(userId);
    this.live.set(userId, state);
    this.evict();
  }

  delete(userId: string): void {
    this.values.delete(userId);
    this.live.delete(userId);
    this.stale.delete(userId);
  }

  has(userId: string): boolean {
    return this.values.has(userId) || this.stale.has(userId);
  }

  scan(visit: (userId: string, times: StateTimes) => void): void {
    for (const [u, s] of this.values) {
      header.write(s.slice(0, HEADER_BYTES), 'latin1');
      visit(u, stateTimes(header));
    }
    for (const u of this.stale) {
      const s = this.live.get(u) as UserState;
      visit(u, { lastEventTimeMs: s.lastEventTimeMs, nextTimerTimeMs: s.churn.nextTimerTimeMs });
    }
  }

  /** Total bytes of the encoded values (stale states are encoded first, so every user counts). */
  valueBytes(): number {
    for (const u of [...this.stale]) this.bytes(u);
    let n = 0;
    for (const s of this.values.values()) n += s.length;
    return n;
  }

  private keep(userId: string, value: Uint8Array, from = 0): void {
    const b = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    this.values.set(userId, b.toString('latin1', from));
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
