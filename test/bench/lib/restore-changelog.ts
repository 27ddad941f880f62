/**
 * The changelog the restore benchmarks read (make bench-e2e's restore phase, restore-rounds.ts):
 * `users` users, user i holding `states[i % states.length]` as a version-4 value whose applied
 * offset (i >> 2) is below every checkpoint, then each partition's checkpoint (offset `users`)
 * last, as in a compacted changelog. User records carry no partition (the producer's key hash
 * places them); each checkpoint names its own.
 */
import { encodeEntry } from '../../../src/state/changelog-entry';
import { CHECKPOINT_KEY, encodeCheckpoint } from '../../../src/state/checkpoint';

export interface ChangelogRecord {
  readonly key: string;
  readonly value: Buffer;
  readonly partition?: number;
}

export function* restoreChangelog(
  states: readonly Uint8Array[],
  users: number,
  partitions: number,
): Generator<ChangelogRecord> {
  for (let i = 0; i < users; i++) {
    const value = encodeEntry(states[i % states.length] as Uint8Array, BigInt(i >> 2));
    yield {
      key: `user-${(1_000_000_000 + i).toString(36)}`,
      value: Buffer.from(value.buffer, value.byteOffset, value.byteLength),
    };
  }
  const checkpoint = Buffer.from(encodeCheckpoint({ offset: BigInt(users), maxEventTimeMs: 0 }));
  for (let partition = 0; partition < partitions; partition++)
    yield { key: CHECKPOINT_KEY, value: checkpoint, partition };
}
