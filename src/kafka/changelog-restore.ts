/**
 * Restores user states of some partitions from the compacted changelog `<appId>.user-state`.
 *
 * Contract: the caller fences the partitions' transactional producers FIRST (so no zombie
 * transaction is open and the last stable offset equals the high watermark), then restores.
 * Reads read_committed from the beginning with a throw-away consumer group, until each wanted
 * partition's position reaches the end offset taken at the start. Transaction markers occupy
 * offsets, so "done" is position ≥ end offset, not "saw a record at end − 1".
 */
import type { Kafka } from 'kafkajs';
import { readToEnd } from './read-to-end';
import { readFailure } from './failure-policy';
import { randomUUID } from 'node:crypto';
import { ProcessorError, isProcessorError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { AvroSerde } from './serde';
import { restoreValue } from './changelog-value';
import type { StateCacheOptions } from '../state/state-store';
import { StateStore } from '../state/state-store';
import { CHECKPOINT_KEY } from '../state/checkpoint';
import type { UnreadableValue } from '../state/changelog-entry';
import { RestoredPartition } from '../state/changelog-entry';

/**
 * Bytes per fetch of a restore consumer (kafkajs caps a whole fetch at 10 MiB). Fewer, larger
 * fetches: at 200,000 users, 4 partitions, this restored at ~104,000 users/s against ~80,000
 * with 4 MiB (two runs each, same changelog); the buffer is transient, one per restoring partition.
 */
export const RESTORE_FETCH_BYTES = 16 * 1024 * 1024;

/** No wanted partition advanced for this long: the restore consumer is replaced (ms). */
export const RESTORE_STALL_MS = 30_000;

export interface RestoreResult {
  /** Per partition: its states, checkpoint (absent = none) and users ahead of the checkpoint. */
  readonly partitions: Map<number, RestoredPartition>;
  readonly records: number;
  readonly durationMs: number;
}

export async function restorePartitions(
  kafka: Kafka,
  topic: string,
  partitions: readonly number[],
  serde: AvroSerde,
  groupPrefix: string,
  logger: Logger,
  {
    timeoutMs = 300_000,
    cache = {},
  }: {
    readonly timeoutMs?: number;
    /** The decoded-state cache of each restored store. */
    readonly cache?: StateCacheOptions;
  } = {},
): Promise<RestoreResult> {
  const t0 = Date.now();
  const log = logger.child('restore');
  for (let attempt = 1; ; attempt++) {
    const restored = new Map<number, RestoredPartition>(
      partitions.map((p) => [p, new RestoredPartition(new StateStore(cache))]),
    );
    let records = 0;
    const res = await readToEnd(kafka, {
      topic,
      partitions,
      // Unique per call: partitions are restored concurrently, and two restores sharing a group
      // would split the topic's partitions between them and wait for data they never get.
      groupId: `${groupPrefix}.restore.${process.pid}.${randomUUID()}`,
      timeoutMs: Math.max(1, timeoutMs - (Date.now() - t0)),
      stallMs: RESTORE_STALL_MS,
      maxBytesPerPartition: RESTORE_FETCH_BYTES,
      onBatch: async (partition, messages) => {
        const part = restored.get(partition);
        if (!part) return;
        for (const m of messages) {
          const userId = m.key?.toString() ?? '';
          if (userId === CHECKPOINT_KEY) part.checkpointRecord(m.value);
          else if (m.value === null) part.tombstone(userId);
          else {
            try {
              const pending = restoreValue(part, userId, m.value, serde);
              if (pending) await pending;
            } catch (e) {
              if (!isUnreadableValue(e)) throw e;
              part.unreadable(userId, m.offset, e.message);
            }
          }
          records++;
        }
      },
    });
    if (res.failure) {
      throw readFailure(
        res.failure,
        `changelog restore of partitions ${partitions.join(',')}: consumer crashed`,
      );
    }
    if (res.unfinished.length > 0) {
      const where = [...res.positions].map(([p, o]) => `${p}: at ${o.next} of ${o.end}`).join('; ');
      if (res.stalled && Date.now() - t0 < timeoutMs) {
        log.warn('changelog restore stalled; retrying with a fresh consumer', { attempt, positions: where });
        continue;
      }
      throw new ProcessorError(
        'KAFKA_TRANSIENT',
        `changelog restore of partitions ${res.unfinished.join(',')} timed out (${where})`,
      );
    }
    const unreadable = [...restored]
      .map(([p, part]): [number, UnreadableValue[]] => [p, part.unreadableValues()])
      .filter(([, vs]) => vs.length > 0);
    if (unreadable.length > 0) throw unreadableError(topic, unreadable);
    const durationMs = Date.now() - t0;
    log.info('restored partitions', {
      partitions: [...partitions],
      records,
      users: [...restored.values()].reduce((n, r) => n + r.store.size, 0),
      durationMs,
      attempts: attempt,
    });
    return { partitions: restored, records, durationMs };
  }
}

/**
 * A value no version of the state reads: a bug, or a foreign writer on our topic. Not a transient
 * failure (the registry being down is one, and is retried): reading it again gives the same.
 */
function isUnreadableValue(e: unknown): e is ProcessorError {
  return isProcessorError(e) && (e.code === 'INVARIANT_VIOLATED' || e.code.startsWith('DECODE_'));
}

/**
 * Users whose latest value is unreadable stop the service, loudly, instead of restoring for ever
 * or starting those users from nothing unasked. The message names partitions, offsets and reasons,
 * never a user id, and says how to proceed (`interest-drift changelog check`).
 */
function unreadableError(topic: string, parts: [number, UnreadableValue[]][]): ProcessorError {
  const shown = 3;
  const where = parts.map(([p, vs]) => {
    const first = vs.slice(0, shown).map((v) => `offset ${v.offset}: ${v.reason}`);
    return `partition ${p}: ${vs.length} (${first.join('; ')}${vs.length > shown ? '; …' : ''})`;
  });
  return new ProcessorError(
    'CHANGELOG_UNREADABLE',
    `${topic}: users whose latest state no version of this service reads: ${where.join('; ')}. ` +
      "A newer release wrote them (roll forward), or they are corrupt: 'interest-drift changelog check' lists them, " +
      'and with --tombstone writes tombstones for those users, who then start again from their next event',
  );
}
