/**
 * The committed user states of one partition, held as their version-3 changelog values: the
 * bytes the transaction wrote are the bytes kept, restore copies values in without decoding them,
 * and a state is decoded only when an event, timer or lookup needs it.
 *
 * Each value is kept as a one-byte (latin1) string rather than a Uint8Array: V8 stores such a
 * string inline with a 16-byte header, while every Uint8Array costs an ArrayBuffer, a backing
 * store and their bookkeeping (hundreds of bytes per user at a million users). The string is a
 * byte-exact copy; decoding turns it back into bytes.
 */
import type { UserState } from '../core/user-state';
import type { StateTimes, StateView } from './state-view';
import { decodeState, encodeState, stateTimes } from './state-codec';

/** The fixed header of a version-3 value (stateTimes reads and checks it). */
const HEADER_BYTES = 136;
const header = Buffer.alloc(HEADER_BYTES);

export class StateStore implements StateView {
  private readonly values = new Map<string, string>();

  get size(): number {
    return this.values.size;
  }

  get(userId: string): UserState | undefined {
    const s = this.values.get(userId);
    return s === undefined ? undefined : decodeState(userId, Buffer.from(s, 'latin1'));
  }

  /** The stored value (as written to the changelog), or undefined. */
  bytes(userId: string): Uint8Array | undefined {
    const s = this.values.get(userId);
    return s === undefined ? undefined : Buffer.from(s, 'latin1');
  }

  /** Keeps a copy of `value`, a version-3 state value (throws on anything else). */
  put(userId: string, value: Uint8Array): void {
    stateTimes(value);
    const b = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    this.values.set(userId, b.toString('latin1'));
  }

  set(userId: string, state: UserState): void {
    this.put(userId, encodeState(state));
  }

  delete(userId: string): void {
    this.values.delete(userId);
  }

  has(userId: string): boolean {
    return this.values.has(userId);
  }

  scan(visit: (userId: string, times: StateTimes) => void): void {
    for (const [u, s] of this.values) {
      header.write(s.slice(0, HEADER_BYTES), 'latin1');
      visit(u, stateTimes(header));
    }
  }

  /** Total bytes of the stored values. */
  valueBytes(): number {
    let n = 0;
    for (const s of this.values.values()) n += s.length;
    return n;
  }
}
