/**
 * The changelog's checkpoint record: per changelog partition, under a key no user id can take
 * (input ids and erase keys containing NUL are dead-lettered), where a restore starts replaying
 * the input. Every change to a user state below the checkpoint's offset is on the changelog; a
 * state written later carries its own applied offset (changelog-entry.ts) and the replay skips
 * that user's records below it. Restore loads the states and replays the input from the checkpoint
 * to the group's committed offset (outputs suppressed: they were committed before).
 *
 * Version 1 (10 bytes): the offset only; every state on the changelog was complete up to it.
 * Version 2 (18 bytes): also the partition's largest event time seen below the offset, so that the
 * replay starts from the watermark the uninterrupted run had there (states written after the
 * checkpoint would otherwise push it forward).
 */
import { ProcessorError } from '../shared/errors';

export const CHECKPOINT_KEY = '\u0000interest-drift.checkpoint';
const CHECKPOINT_MAGIC = 0xb6;
const CHECKPOINT_VERSION = 2;

export interface Checkpoint {
  /** Input offset the replay starts at. */
  readonly offset: bigint;
  /** Largest event time the partition had seen below `offset`, epoch ms; undefined: version 1. */
  readonly maxEventTimeMs?: number;
}

export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const b = new Uint8Array(c.maxEventTimeMs === undefined ? 10 : 18);
  const v = new DataView(b.buffer);
  b[0] = CHECKPOINT_MAGIC;
  b[1] = c.maxEventTimeMs === undefined ? 1 : CHECKPOINT_VERSION;
  v.setBigInt64(2, c.offset, true);
  if (c.maxEventTimeMs !== undefined) v.setFloat64(10, c.maxEventTimeMs, true);
  return b;
}

/** A checkpoint value of version 1 or 2. */
export function decodeCheckpoint(value: Uint8Array): Checkpoint {
  const v = new DataView(value.buffer, value.byteOffset, value.byteLength);
  if (value[0] === CHECKPOINT_MAGIC && value[1] === 1 && value.length === 10) {
    return { offset: v.getBigInt64(2, true) };
  }
  if (value[0] === CHECKPOINT_MAGIC && value[1] === CHECKPOINT_VERSION && value.length === 18) {
    return { offset: v.getBigInt64(2, true), maxEventTimeMs: v.getFloat64(10, true) };
  }
  throw new ProcessorError('INVARIANT_VIOLATED', 'changelog checkpoint value is malformed');
}
