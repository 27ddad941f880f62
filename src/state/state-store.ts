/**
 * The committed user states of one partition, held as their version-3 changelog values: the
 * bytes the transaction wrote are the bytes kept, restore copies values in without decoding them,
 * and a state is decoded only when an event, timer or lookup needs it. Memory per user is the
 * value (about 1 KB) plus one Map entry, instead of a graph of objects, strings and Maps.
 */
import type { UserState } from '../core/user-state';
import type { StateTimes, StateView } from './state-view';
import { decodeState, encodeState, stateTimes } from './state-codec';

export class StateStore implements StateView {
  private readonly values = new Map<string, Uint8Array>();

  get size(): number {
    return this.values.size;
  }

  get(userId: string): UserState | undefined {
    const b = this.values.get(userId);
    return b === undefined ? undefined : decodeState(userId, b);
  }

  /** The stored value (as written to the changelog), or undefined. */
  bytes(userId: string): Uint8Array | undefined {
    return this.values.get(userId);
  }

  /** Keeps `value` (a version-3 state value, not copied: the caller must not reuse it). */
  put(userId: string, value: Uint8Array): void {
    stateTimes(value); // throws on a value that is not version 3
    this.values.set(userId, value);
  }

  set(userId: string, state: UserState): void {
    this.values.set(userId, encodeState(state));
  }

  delete(userId: string): void {
    this.values.delete(userId);
  }

  has(userId: string): boolean {
    return this.values.has(userId);
  }

  scan(visit: (userId: string, times: StateTimes) => void): void {
    for (const [u, b] of this.values) visit(u, stateTimes(b));
  }

  /** Total bytes of the stored values. */
  valueBytes(): number {
    let n = 0;
    for (const b of this.values.values()) n += b.byteLength;
    return n;
  }
}
