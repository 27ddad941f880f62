/**
 * The changelog's checkpoint record: per changelog partition, under a key no user id can take
 * (input ids and erase keys containing NUL are dead-lettered), the input offset up to which the
 * partition's states on the changelog are complete. States are written to the changelog once per
 * flush interval, not per transaction; restore loads them and replays the input from the
 * checkpoint to the group's committed offset (outputs suppressed: they were committed before).
 */
import { ProcessorError } from '../shared/errors';

export const CHECKPOINT_KEY = '\u0000interest-drift.checkpoint';
const CHECKPOINT_MAGIC = 0xb6;
const CHECKPOINT_VERSION = 1;

export function encodeCheckpoint(inputOffset: bigint): Uint8Array {
  const b = new Uint8Array(10);
  b[0] = CHECKPOINT_MAGIC;
  b[1] = CHECKPOINT_VERSION;
  new DataView(b.buffer).setBigInt64(2, inputOffset, true);
  return b;
}

/** The input offset of a checkpoint value: everything below it is in the states. */
export function decodeCheckpoint(value: Uint8Array): bigint {
  if (value.length !== 10 || value[0] !== CHECKPOINT_MAGIC || value[1] !== CHECKPOINT_VERSION) {
    throw new ProcessorError('INVARIANT_VIOLATED', 'changelog checkpoint value is malformed');
  }
  return new DataView(value.buffer, value.byteOffset, value.byteLength).getBigInt64(2, true);
}
