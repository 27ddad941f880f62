import type { PartitionMetadata } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import { KeyPartitioner, keyPartition, murmur2 } from '../../../src/kafka/key-partitioner';

const metadata = (count: number): PartitionMetadata[] =>
  Array.from({ length: count }, (_, i) => ({ partitionId: i, leader: 0 }) as PartitionMetadata);

/** Looks like 2^31 - 1 partitions to a partitioner, which reads only the count of a keyed record's. */
const huge = { length: 0x7fffffff } as PartitionMetadata[];

/** Deterministic keys of every kind the partitioner meets: ASCII, multi-byte, lone surrogates, long, bytes. */
function keys(): (string | Buffer)[] {
  let seed = 11;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const alphabet = ['a', 'Z', '7', '-', 'é', '€', '中', '😀', '\ud800', '\udc00', '\u0000'];
  const out: (string | Buffer)[] = ['', 'a', 'ab', 'abc', 'abcd', 'bench-2026-4717', 'user-0'];
  for (let i = 0; i < 3000; i++) {
    const n = i < 2900 ? rand(40) : rand(1500);
    let s = '';
    for (let j = 0; j < n; j++)
      s += i % 3 === 0 ? String.fromCharCode(97 + rand(26)) : alphabet[rand(alphabet.length)];
    out.push(s);
  }
  for (let i = 0; i < 300; i++) out.push(Buffer.from(Array.from({ length: rand(60) }, () => rand(256))));
  return out;
}

describe('key partitioner', () => {
  it("gives kafkajs' DefaultPartitioner's partition for every key and partition count", () => {
    const theirs = Partitioners.DefaultPartitioner();
    const ours = KeyPartitioner();
    const counts = [1, 2, 3, 4, 7, 12, 64, 1000];
    const partitionMetadata = counts.map(metadata);
    for (const key of keys()) {
      // kafkajs' murmur2 is slow (the reason for this module): once per key, at 2^31 - 1 partitions,
      // which leaves the positive hash itself; the counts above follow from it as from ours.
      const positive = theirs({ topic: 't', partitionMetadata: huge, message: { key, value: null } });
      counts.forEach((count, i) => {
        expect(keyPartition(key, count)).toBe(positive % count);
        const message = { key, value: null };
        expect(ours({ topic: 't', partitionMetadata: partitionMetadata[i] ?? [], message })).toBe(
          positive % count,
        );
      });
    }
  });

  it("matches Kafka's published murmur2 values", () => {
    // Kafka's UtilsTest.testMurmur2 (the Java client's own test vectors).
    const cases: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ];
    for (const [s, h] of cases) expect(murmur2(Buffer.from(s))).toBe(h);
  });

  it("keeps a record's own partition, and spreads keyless records over the available ones", () => {
    const p = KeyPartitioner();
    const partitionMetadata = metadata(4);
    expect(p({ topic: 't', partitionMetadata, message: { key: 'x', value: null, partition: 3 } })).toBe(3);
    const seen = new Set<number>();
    for (let i = 0; i < 8; i++) seen.add(p({ topic: 't', partitionMetadata, message: { value: null } }));
    expect(seen).toEqual(new Set([0, 1, 2, 3]));
  });
});
