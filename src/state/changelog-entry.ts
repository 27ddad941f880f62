/**
 * A user's changelog value of version 4, and a changelog partition read back in offset order.
 *
 * Version 4 is a version-3 state (state-codec.ts) behind a 10-byte prefix: magic 0xB7, version 4,
 * then the state's applied offset (int64, little-endian): the input offset below which every record
 * of this user is in the state, and from which none is. The processor writes a few dirty states per
 * transaction, oldest change first (dirty-users.ts), instead of all of them at once, so a state on
 * the changelog may be newer than its partition's checkpoint: a replay from the checkpoint then
 * skips this user's records below the applied offset. Versions 1–3 carry no applied offset: their
 * writers flushed every dirty state with each checkpoint, so they are never ahead of it.
 */
import { ProcessorError } from '../shared/errors';
import type { Checkpoint } from './checkpoint';
import { decodeCheckpoint } from './checkpoint';
import { isBinaryState } from './state-codec';
import type { StateStore } from './state-store';

export const ENTRY_MAGIC = 0xb7;
export const ENTRY_VERSION = 4;
const PREFIX_BYTES = 10;

/** The version-4 value of a version-3 state complete below input offset `appliedOffset`. */
export function encodeEntry(state: Uint8Array, appliedOffset: bigint): Uint8Array {
  // From Node's Buffer pool (under 4 KiB), not a new off-heap Uint8Array (see encodeState).
  const out = Buffer.allocUnsafe(PREFIX_BYTES + state.length);
  out[0] = ENTRY_MAGIC;
  out[1] = ENTRY_VERSION;
  out.writeBigInt64LE(appliedOffset, 2);
  out.set(state, PREFIX_BYTES);
  return out;
}

export function isEntry(value: Uint8Array): boolean {
  return value.length > PREFIX_BYTES && value[0] === ENTRY_MAGIC;
}

function checkEntry(value: Uint8Array): void {
  if (!isEntry(value) || value[1] !== ENTRY_VERSION) {
    throw new ProcessorError(
      'INVARIANT_VIOLATED',
      `changelog value is not version ${ENTRY_VERSION} (magic ${value[0]}, version ${value[1]})`,
    );
  }
}

/** The version-3 state inside a version-4 value (a view, no copy). */
export function entryState(value: Uint8Array): Uint8Array {
  checkEntry(value);
  return value.subarray(PREFIX_BYTES);
}

/**
 * The applied offset of a version-4 value, read as two 32-bit halves: no DataView or BigInt per
 * user on restore's hot path (exact below 2^53).
 */
export function entryAppliedOffset(value: Uint8Array): number {
  checkEntry(value);
  return u32(value, 6) * 2 ** 32 + u32(value, 2);
}

/** The unsigned 32-bit little-endian number at `at`. */
function u32(b: Uint8Array, at: number): number {
  return (
    ((b[at] as number) | ((b[at + 1] as number) << 8) | ((b[at + 2] as number) << 16)) +
    (b[at + 3] as number) * 2 ** 24
  );
}

/** A user whose latest changelog value could not be read: where, and why (no user id). */
export interface UnreadableValue {
  /** Offset of the value in its changelog partition (a decimal string, as kafkajs gives it). */
  readonly offset: string;
  readonly reason: string;
}

/**
 * One changelog partition folded in offset order into its latest states, its checkpoint and the
 * users whose state is ahead of that checkpoint. Restore and the system tests' verifier read the
 * changelog through it, so both rebuild the same starting point for the replay.
 */
export class RestoredPartition {
  private latest: Checkpoint | undefined;
  /**
   * Users whose latest value so far could not be read. A later value or tombstone of the user
   * supersedes it (compaction would have removed it); what is left at the end is what the
   * partition cannot restore. Empty on a healthy changelog: the hot path only checks its size.
   */
  private readonly unreadableByUser = new Map<string, UnreadableValue>();
  /**
   * Per store slot: the applied offset of the user's version-4 state, or −1 for a version-3 state
   * (never ahead). A typed array, not a map by user: restore sets one per user read, and a
   * compacted changelog keeps only its last checkpoint, so which users are ahead of it is known
   * only at the end (a map of every user read cost 9 % of a 1,000,000-user restore's CPU). Exact
   * below 2^53, as entryAppliedOffset.
   */
  private applied = new Float64Array(1024);

  constructor(readonly store: StateStore) {}

  get checkpoint(): Checkpoint | undefined {
    return this.latest;
  }

  /** The checkpoint record's value (null: a tombstone, no checkpoint). */
  checkpointRecord(value: Uint8Array | null): void {
    this.latest = value === null ? undefined : decodeCheckpoint(value);
  }

  /** A user's value of version 3 or 4 (callers convert Avro values of versions 1 and 2 first). */
  state(userId: string, value: Uint8Array): void {
    if (this.unreadableByUser.size > 0) this.unreadableByUser.delete(userId);
    if (isEntry(value)) {
      const appliedOffset = entryAppliedOffset(value);
      this.setApplied(this.store.put(userId, value, PREFIX_BYTES), appliedOffset);
    } else if (isBinaryState(value)) {
      this.setApplied(this.store.put(userId, value), -1);
    } else {
      throw new ProcessorError(
        'INVARIANT_VIOLATED',
        `changelog value of unknown format (first byte ${value[0]})`,
      );
    }
  }

  /** The user's slot is released; whoever gets it next sets its applied offset. */
  tombstone(userId: string): void {
    if (this.unreadableByUser.size > 0) this.unreadableByUser.delete(userId);
    this.store.delete(userId);
  }

  /**
   * The user's value at `offset` could not be read. The user's older state is dropped (restoring
   * it would roll the user back); a later value or tombstone of the user clears the mark.
   */
  unreadable(userId: string, offset: string, reason: string): void {
    this.store.delete(userId);
    this.unreadableByUser.set(userId, { offset, reason });
  }

  /** The unreadable values no later record superseded, in offset order; no user ids. */
  unreadableValues(): UnreadableValue[] {
    return [...this.unreadableByUser.values()].sort((a, b) => (BigInt(a.offset) < BigInt(b.offset) ? -1 : 1));
  }

  /** Users whose state is complete beyond the checkpoint, with their applied offsets. */
  aheadOfCheckpoint(): Map<string, bigint> {
    const c = this.latest === undefined ? Number.POSITIVE_INFINITY : Number(this.latest.offset);
    const ahead = new Map<string, bigint>();
    this.store.forEachSlot((u, slot) => {
      const a = this.applied[slot] as number;
      if (a > c) ahead.set(u, BigInt(a));
    });
    return ahead;
  }

  private setApplied(slot: number, appliedOffset: number): void {
    if (slot >= this.applied.length) {
      const grown = new Float64Array(Math.max(2 * this.applied.length, slot + 1));
      grown.set(this.applied);
      this.applied = grown;
    }
    this.applied[slot] = appliedOffset;
  }
}
