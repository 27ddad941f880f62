/**
 * The partition of a keyed record, as Kafka's Java producer and kafkajs' DefaultPartitioner choose
 * it: murmur2 of the key's bytes (UTF-8 for a string), made positive, modulo the partition count.
 *
 * Why not kafkajs' own: its murmur2 does each 32-bit step in BigInt-backed 64-bit arithmetic, about
 * 6 µs a key, which made the partitioner 2.9 % of the processing thread in the bench's profile
 * (every output record is keyed by its user). This one does the same steps with Math.imul; the
 * unit test holds it to kafkajs' result for every key it tries.
 */
import type { ICustomPartitioner, PartitionerArgs } from 'kafkajs';
import { Partitioners } from 'kafkajs';

/**
 * Keys of up to a third of this many UTF-16 units (3 UTF-8 bytes each at most) are hashed from a
 * reused buffer, longer ones from a copy.
 */
const SCRATCH_BYTES = 1024;
const scratch = Buffer.allocUnsafe(SCRATCH_BYTES);

const M = 0x5bd1e995;

/** Java's `Utils.murmur2` (seed 0x9747b28c) over `data[0, length)`: a signed 32-bit integer. */
export function murmur2(data: Uint8Array, length: number = data.length): number {
  let h = 0x9747b28c ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k =
      (data[i4] as number) |
      ((data[i4 + 1] as number) << 8) |
      ((data[i4 + 2] as number) << 16) |
      ((data[i4 + 3] as number) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & ~3;
  const rest = length & 3;
  if (rest > 0) {
    if (rest === 3) h ^= (data[tail + 2] as number) << 16;
    if (rest >= 2) h ^= (data[tail + 1] as number) << 8;
    h ^= data[tail] as number;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * The partition, of `count`, that a record keyed `key` goes to: for a user id and the input topic's
 * count, where the input, and so the co-partitioned changelog, holds that user.
 */
export function keyPartition(key: string | Uint8Array, count: number): number {
  let h: number;
  if (typeof key !== 'string') h = murmur2(key);
  else if (key.length * 3 <= SCRATCH_BYTES) h = murmur2(scratch, scratch.write(key, 0, 'utf8'));
  else h = murmur2(Buffer.from(key, 'utf8'));
  return (h & 0x7fffffff) % count;
}

/**
 * kafkajs' DefaultPartitioner with this module's murmur2: a record's own partition when it has
 * one, else its key's, else kafkajs' round robin over the available partitions.
 */
export const KeyPartitioner: ICustomPartitioner = () => {
  const roundRobin = Partitioners.DefaultPartitioner();
  return (args: PartitionerArgs) => {
    const { message, partitionMetadata } = args;
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    if (message.key !== null && message.key !== undefined)
      return keyPartition(message.key, partitionMetadata.length);
    return roundRobin(args);
  };
};
