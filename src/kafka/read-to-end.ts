/**
 * Reads partitions of a topic from the beginning, read_committed, up to the end offsets taken
 * when the call starts, with a throw-away consumer group. Used to restore the changelog and to
 * read outputs back (tools and tests).
 *
 * Completion is "position ≥ end offset", observed through kafkajs' END_BATCH_PROCESS events,
 * which kafkajs also emits for batches holding only transaction markers: markers occupy offsets,
 * so waiting for a record at end − 1 could wait forever.
 */
import type { Kafka, KafkaMessage, PartitionAssigner } from 'kafkajs';
import { AssignerProtocol } from 'kafkajs';
import { readFailure, stopsService } from './failure-policy';

export interface ReadToEndOptions {
  readonly topic: string;
  /** Partitions to read; all when omitted. */
  readonly partitions?: readonly number[];
  readonly groupId: string;
  readonly timeoutMs: number;
  /** Called per fetched batch, in offset order per partition: each record once, none at or past the end. */
  readonly onBatch: (partition: number, messages: KafkaMessage[]) => Promise<void> | void;
  readonly maxBytesPerPartition?: number;
  /** Also return records of aborted and open transactions (fault tests count them); default false. */
  readonly readUncommitted?: boolean;
  /**
   * Give up early, with `stalled` set, when no wanted partition has advanced for this long (ms).
   * kafkajs can leave a consumer joined but not fetching after a broker pause (chaos seed 5: a
   * restore sat 5 minutes short of its end); the caller retries with a fresh consumer.
   */
  readonly stallMs?: number;
  /**
   * Read a range instead: per partition, from this offset up to (excluding) `until`'s offset,
   * rather than from the beginning to the end offsets taken at the start. Partitions not in
   * `until` are not read.
   */
  readonly range?: {
    readonly from: ReadonlyMap<number, bigint>;
    readonly until: ReadonlyMap<number, bigint>;
  };
  /** Called once before reading, with each partition to read and its end offset (exclusive). */
  readonly onEnds?: (ends: ReadonlyMap<number, bigint>) => void;
}

export interface ReadToEndResult {
  /** Partitions that did not reach their end offset before the timeout (empty = complete). */
  readonly unfinished: number[];
  /** Set when the consumer crashed. */
  readonly failure: unknown;
  /** True when it stopped because nothing advanced for `stallMs`. */
  readonly stalled: boolean;
  /** Per unfinished partition: the end offset it waited for and the next offset it had reached. */
  readonly positions: ReadonlyMap<number, { readonly end: bigint; readonly next: bigint }>;
}

export async function readToEnd(kafka: Kafka, o: ReadToEndOptions): Promise<ReadToEndResult> {
  const ends = new Map<number, bigint>();
  if (o.range) {
    for (const [p, end] of o.range.until) if (end > (o.range.from.get(p) ?? 0n)) ends.set(p, end);
  } else {
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (const off of await admin.fetchTopicOffsets(o.topic)) {
        const wanted = !o.partitions || o.partitions.includes(off.partition);
        if (wanted && BigInt(off.high) > BigInt(off.low)) ends.set(off.partition, BigInt(off.high));
      }
    } finally {
      await admin.disconnect();
    }
  }
  o.onEnds?.(ends);
  const pending = new Set(ends.keys());
  const next = new Map<number, bigint>([...ends.keys()].map((p) => [p, o.range?.from.get(p) ?? 0n]));
  if (pending.size === 0) return { unfinished: [], failure: null, stalled: false, positions: new Map() };
  const consumer = kafka.consumer({
    groupId: o.groupId,
    partitionAssigners: [wantedPartitionsAssigner(o.topic, [...ends.keys()])],
    readUncommitted: o.readUncommitted ?? false,
    maxWaitTimeInMs: 100,
    maxBytesPerPartition: o.maxBytesPerPartition ?? 4 * 1024 * 1024,
  });
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  let lastAdvanceMs = Date.now();
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const end = ends.get(payload.partition);
    if (end === undefined) return;
    const reached = BigInt(payload.lastOffset) + 1n;
    if (reached > (next.get(payload.partition) ?? 0n)) {
      next.set(payload.partition, reached);
      lastAdvanceMs = Date.now();
    }
    if (reached >= end && pending.delete(payload.partition)) {
      if (pending.size === 0) done();
    }
  });
  // Every (re)join moves each partition to the next offset not yet read: kafkajs keeps a seek in
  // memory only and forgets it, with every position, when the group rebalances or the consumer
  // restarts, and this group commits nothing. A range read then fell back to the log's end, and
  // the first record produced there ended the read with the rest of the range never read; a full
  // read went back to the start and read everything again.
  consumer.on(consumer.events.GROUP_JOIN, () => {
    for (const [partition, offset] of next) {
      consumer.seek({ topic: o.topic, partition, offset: offset.toString() });
    }
  });
  let failure: unknown = null;
  let stalled = false;
  let unfinished: number[] = [];
  const positions = new Map<number, { end: bigint; next: bigint }>();
  // kafkajs restarts the consumer itself after a retriable crash (e.g. "the coordinator is
  // loading" on a fresh broker); only a crash it does not restart from ends the read.
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart) return;
    failure ??= payload.error;
    done();
  });
  await consumer.connect();
  try {
    // Only the partitions in `ends` are assigned (wantedPartitionsAssigner), and each join moves
    // them to their `from` offsets (above).
    await consumer.subscribe({ topic: o.topic, fromBeginning: o.range === undefined });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const end = ends.get(batch.partition);
        if (end === undefined) return;
        // Each record once, and none past the end: after a rejoin a fetch may start before the seek.
        const from = next.get(batch.partition) ?? 0n;
        const messages = batch.messages.filter((m) => BigInt(m.offset) < end && BigInt(m.offset) >= from);
        if (messages.length === 0) return;
        try {
          await o.onBatch(batch.partition, messages);
        } catch (e) {
          // Kept as thrown: kafkajs wraps it as { cause: e.cause || e }, which drops our error
          // whenever it has a cause of its own, and a fatal error or a bug then read as transient.
          if (stopsService(e)) {
            failure ??= e;
            done();
          }
          throw e;
        }
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, o.timeoutMs)));
    let watch: NodeJS.Timeout | undefined;
    const stall = new Promise<void>((resolve) => {
      if (o.stallMs === undefined) return;
      const stallMs = o.stallMs;
      watch = setInterval(
        () => {
          if (Date.now() - lastAdvanceMs >= stallMs) {
            stalled = true;
            resolve();
          }
        },
        Math.min(1_000, stallMs),
      );
    });
    await Promise.race([finished, timedOut, stall]);
    clearTimeout(timer);
    clearInterval(watch);
    // Taken before disconnecting: a batch still in flight must not change the verdict.
    unfinished = [...pending].sort((a, b) => a - b);
    for (const p of unfinished) positions.set(p, { end: ends.get(p) ?? 0n, next: next.get(p) ?? 0n });
  } finally {
    await consumer.disconnect();
  }
  return { unfinished, failure, stalled: stalled && unfinished.length > 0, positions };
}

/**
 * Throws KAFKA_TRANSIENT, naming `what` and each unfinished partition's position and end, unless
 * the read reached every end: a caller that goes on with a partial read reports wrong data (the CI
 * run of bc266dd counted the unread part of a topic as missing records).
 */
export function assertReadComplete(res: ReadToEndResult, what: string): void {
  if (!res.failure && res.unfinished.length === 0) return;
  const where = [...res.positions].map(([p, o]) => `partition ${p} at ${o.next} of ${o.end}`).join('; ');
  throw readFailure(
    res.failure,
    `could not read ${what} to its end${res.failure ? ' (the consumer crashed)' : ''}${where ? `: ${where}` : ''}`,
  );
}

const WANTED_ASSIGNER = 'IdriftWantedPartitions';

/**
 * Assigns each member of the throw-away group the partitions it wants, which it sends in its
 * join metadata, and nothing else. With the default assigner each reader was given every
 * partition of the topic and fetched and decoded them all, to keep only its own: the processor
 * restores each partition with a reader of its own, so a restore of n partitions read the whole
 * changelog n times (a 1,000,000-user restore of 4 partitions decoded 3.4 million records).
 * Members of one group may ask for the same partition: every member reads on its own.
 */
function wantedPartitionsAssigner(topic: string, wanted: readonly number[]): PartitionAssigner {
  return () => ({
    name: WANTED_ASSIGNER,
    version: 0,
    protocol: ({ topics }) => ({
      name: WANTED_ASSIGNER,
      metadata: AssignerProtocol.MemberMetadata.encode({
        version: 0,
        topics,
        userData: Buffer.from(JSON.stringify(wanted)),
      }),
    }),
    assign: ({ members }) =>
      Promise.resolve(
        members.map(({ memberId, memberMetadata }) => {
          const meta = AssignerProtocol.MemberMetadata.decode(memberMetadata);
          const partitions = meta ? (JSON.parse(meta.userData.toString()) as number[]) : [];
          return {
            memberId,
            memberAssignment: AssignerProtocol.MemberAssignment.encode({
              version: 0,
              assignment: { [topic]: partitions },
              userData: Buffer.alloc(0),
            }),
          };
        }),
      ),
  });
}
