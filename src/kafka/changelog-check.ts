/**
 * `interest-drift changelog check`: finds the users whose latest committed changelog value no
 * version of this service reads, the values that stop a restore (CHANGELOG_UNREADABLE) or, when
 * only a value's body is damaged, stop processing when the user's state is first decoded.
 *
 * Reads the changelog read_committed to its end and decodes every value fully, as restore and
 * then the processor would (versions 1–4, the state's body included). A later value or tombstone
 * of the same user supersedes an unreadable one. With `tombstone`, each user left unreadable gets
 * a tombstone on its partition: restore then drops that state, and the user starts again from
 * the next event, as a user never seen. Never reports a user id: partitions, offsets and reasons.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { ProcessorError, isProcessorError } from '../shared/errors';
import { CHECKPOINT_KEY, decodeCheckpoint } from '../state/checkpoint';
import { decodeState } from '../state/state-codec';
import { changelogValueToState } from './changelog-value';
import { readFailure } from './failure-policy';
import { readToEnd } from './read-to-end';
import type { AvroSerde } from './serde';

export interface ChangelogCheckOptions {
  /** Partitions to check; all when omitted. */
  readonly partitions?: readonly number[];
  /** Write a tombstone for every user whose latest value is unreadable. */
  readonly tombstone: boolean;
  readonly groupPrefix: string;
  readonly timeoutMs?: number;
  /**
   * Called after each fetched batch: offsets read so far and in all, over the partitions checked
   * (a compacted changelog has gaps, so offsets, not records, measure the way to the end).
   */
  readonly onProgress?: (offsetsRead: bigint, offsetsTotal: bigint) => void;
}

export interface UnreadableRecord {
  readonly partition: number;
  /** Offset of the user's latest value, a decimal string. */
  readonly offset: string;
  readonly reason: string;
}

export interface ChangelogCheckSummary {
  readonly topic: string;
  /** Records read (values, tombstones, checkpoints). */
  readonly records: number;
  /** Users whose latest value is unreadable, in partition and offset order. */
  readonly unreadable: UnreadableRecord[];
  /**
   * Checkpoint records that did not decode (the latest of their partition). Never tombstoned: the
   * checkpoint says where the input replay starts; without one, restore replays nothing, and the
   * changes not yet on the changelog would be lost.
   */
  readonly unreadableCheckpoints: UnreadableRecord[];
  /** Tombstones written (0 without `tombstone`). */
  readonly tombstoned: number;
}

/** An unreadable record and its key's bytes (for the tombstone; never printed). */
type Found = UnreadableRecord & { readonly key: Buffer };

/**
 * Any failure to decode, except a retriable one (the registry down, for versions 1 and 2): damaged
 * bytes can fail the decoder in ways it does not name, and this tool is where they are found.
 */
function isUnreadable(e: unknown): e is Error {
  return e instanceof Error && !(isProcessorError(e) && e.retriable);
}

/**
 * The service's own errors carry controlled messages; any other (a decoder tripping over damaged
 * bytes) is named by its type only, as its message might quote the bytes.
 */
function reasonOf(e: Error): string {
  return isProcessorError(e) ? `${e.code}: ${e.message}` : `${e.name} while decoding`;
}

export async function checkChangelog(
  kafka: Kafka,
  topic: string,
  serde: AvroSerde,
  o: ChangelogCheckOptions,
): Promise<ChangelogCheckSummary> {
  // By partition, then user id as restore reads it (the key as UTF-8): the same user for both.
  const bad = new Map<number, Map<string, Found>>();
  const badCheckpoint = new Map<number, UnreadableRecord>();
  let records = 0;
  let total = 0n;
  const reached = new Map<number, bigint>();
  let read = 0n;
  const res = await readToEnd(kafka, {
    topic,
    partitions: o.partitions,
    // Under the restore's prefix: the service's own ACLs (k8s/base/kafka-user.yaml) allow it.
    groupId: `${o.groupPrefix}.restore.check.${randomUUID()}`,
    timeoutMs: o.timeoutMs ?? 600_000,
    onEnds: (ends) => {
      for (const end of ends.values()) total += end;
    },
    onBatch: async (partition, messages) => {
      let inPartition = bad.get(partition);
      if (!inPartition) bad.set(partition, (inPartition = new Map<string, Found>()));
      for (const m of messages) {
        records++;
        if (!m.key) continue; // restore reads such a record as user '' and so does this: nothing to find
        const userId = m.key.toString();
        if (userId === CHECKPOINT_KEY) {
          badCheckpoint.delete(partition);
          if (m.value === null) continue;
          try {
            decodeCheckpoint(m.value);
          } catch (e) {
            if (!isUnreadable(e)) throw e;
            badCheckpoint.set(partition, { partition, offset: m.offset, reason: reasonOf(e) });
          }
          continue;
        }
        inPartition.delete(userId);
        if (m.value === null) continue;
        try {
          decodeState(userId, await changelogValueToState(m.value, serde));
        } catch (e) {
          if (!isUnreadable(e)) throw e;
          inPartition.set(userId, { partition, offset: m.offset, reason: reasonOf(e), key: m.key });
        }
      }
      const last = messages[messages.length - 1];
      if (last && o.onProgress) {
        const next = BigInt(last.offset) + 1n;
        read += next - (reached.get(partition) ?? 0n);
        reached.set(partition, next);
        o.onProgress(read, total);
      }
    },
  });
  if (res.failure || res.unfinished.length > 0) {
    throw readFailure(res.failure, `could not read ${topic} to its end`);
  }
  const found = [...bad.entries()]
    .sort(([a], [b]) => a - b)
    .flatMap(([, m]) => [...m.values()].sort((x, y) => (BigInt(x.offset) < BigInt(y.offset) ? -1 : 1)));
  let tombstoned = 0;
  if (o.tombstone && found.length > 0) {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      await producer.send({
        topic,
        acks: -1,
        messages: found.map((r) => ({ key: r.key, value: null, partition: r.partition })),
      });
      tombstoned = found.length;
    } catch (e) {
      throw new ProcessorError('KAFKA_TRANSIENT', `writing ${found.length} tombstones to ${topic} failed`, {
        cause: e,
      });
    } finally {
      await producer.disconnect();
    }
  }
  return {
    topic,
    records,
    unreadable: found.map(({ partition, offset, reason }) => ({ partition, offset, reason })),
    unreadableCheckpoints: [...badCheckpoint.values()].sort((a, b) => a.partition - b.partition),
    tombstoned,
  };
}
