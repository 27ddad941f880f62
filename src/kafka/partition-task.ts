/**
 * The per-partition unit of work: one input partition p, its transactional producer, its user
 * states and the topology instance that processes it.
 *
 * Opening a task runs in this order, and the order is the exactly-once argument:
 *   1. the producer with transactional id `<appId>-<inputTopic>-<p>` starts and aborts one empty
 *      transaction: InitProducerId bumps the epoch, which fences the previous owner and aborts
 *      its open transaction;
 *   2. only then changelog partition p is read to its end (nothing more can be added to it);
 *   3. the group's committed offset C of p is where processing resumes;
 *   4. states reach the changelog a few per transaction, each at most once per flush interval,
 *      with a checkpoint X (every change below X is on the changelog; a state written later
 *      carries its applied offset): input records [X, C) are replayed through the topology,
 *      skipping each user's records below its applied offset, outputs discarded (they were
 *      committed with their offsets), so the states equal those of an owner that never stopped.
 *      The replayed users are dirty, due at once.
 */
import type { Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Clock } from '../core/clock';
import type { CoreParams } from '../core/params';
import type { Encoder } from '../model/encoder';
import type { ModelManifest } from '../model/model-manifest';
import { PartitionProcessor } from '../pipeline/partition-processor';
import type { Config } from '../shared/config';
import { ProcessorError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { Metrics } from '../shared/metrics';
import { restorePartitions } from './changelog-restore';
import type { StateCacheOptions } from '../state/state-store';
import { StateStore } from '../state/state-store';
import { StateCacheBudget } from '../state/state-cache-budget';
import type { Checkpoint } from '../state/checkpoint';
import type { DirtyPosition } from '../state/dirty-users';
import { DirtyUsers } from '../state/dirty-users';
import { RESTORE_STALL_MS } from './changelog-restore';
import { readToEnd } from './read-to-end';
import { KeyPartitioner } from './key-partitioner';
import { readFailure } from './failure-policy';
import { decodeRecordWithRetry, registryRetryHooks } from './record-decoder';
import { randomUUID } from 'node:crypto';
import type { PipelineRecord } from '../pipeline/partition-processor';
import type { ValidationLimits } from '../core/validate';
import type { AvroSerde } from './serde';

export interface PartitionTask {
  readonly partition: number;
  readonly producer: Producer;
  /** Committed states only: a chunk's new states enter after its transaction commits. */
  readonly states: StateStore;
  readonly processor: PartitionProcessor;
  /** Next offset to process: everything below it is committed. -1 = none committed yet. */
  nextOffset: bigint;
  /** Serialises batches and processing-time timer runs: one transaction at a time per producer. */
  lock: Promise<void>;
  /** Wall-clock time of the last record processed, ms. */
  lastRecordWallMs: number;
  /** Partition watermark (event time) after the last batch, ms. */
  lastWatermarkMs: number;
  /** Changelog restore time (replay included), ms. */
  readonly restoreMs: number;
  /** Users whose state changed since it was last written (erased ones included), oldest first. */
  readonly dirty: DirtyUsers;
  /** A checkpoint is on the changelog (restored or written since): until then every transaction writes one. */
  hasCheckpoint: boolean;
  /** Input records replayed at start. */
  readonly replayedRecords: number;
  /** Set when the task is dropped: work queued on its lock must not use its producer. */
  dropped: boolean;
}

export interface PartitionTaskDeps {
  readonly config: Config;
  readonly kafka: Kafka;
  readonly serde: AvroSerde;
  readonly encoder: Encoder;
  readonly manifest: ModelManifest;
  readonly params: CoreParams;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly limits: ValidationLimits;
  /** The process's decoded-state budget; without one, each task gets its own of the configured size. */
  readonly stateCache?: StateCacheBudget;
}

/** Runs `fn` after every earlier locked call of the task has settled. */
export function withLock<T>(task: PartitionTask, fn: () => Promise<T>): Promise<T> {
  const run = task.lock.then(fn);
  task.lock = run.then(
    () => undefined,
    () => undefined,
  );
  return run;
}

export function transactionalId(config: Config, partition: number): string {
  return `${config.appId}-${config.topics.input}-${partition}`;
}

/** Fence, restore, read the committed offset (see the module comment). `stopping()` aborts the start. */
export async function openPartitionTask(
  deps: PartitionTaskDeps,
  p: number,
  stopping: () => boolean,
): Promise<PartitionTask> {
  const { config, kafka } = deps;
  const producer = kafka.producer({
    transactionalId: transactionalId(config, p),
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: config.kafka.transactionTimeoutMs,
    createPartitioner: KeyPartitioner,
  });
  await producer.connect();
  try {
    return await startTask(deps, p, producer, stopping);
  } catch (e) {
    // A start that fails (a stop meanwhile, a failed restore or replay) releases its producer:
    // each retry of the start would otherwise leave one connected.
    await producer.disconnect().catch(() => undefined);
    throw e;
  }
}

/** openPartitionTask once its producer is connected: fence, restore, replay. */
async function startTask(
  deps: PartitionTaskDeps,
  p: number,
  producer: Producer,
  stopping: () => boolean,
): Promise<PartitionTask> {
  const { config, kafka, metrics } = deps;
  if (stopping()) {
    throw new ProcessorError('KAFKA_TRANSIENT', `partition ${p} start abandoned: stopping`);
  }
  // kafkajs sends InitProducerId(transactionalId) lazily, at the first transaction().
  const fence = await producer.transaction();
  await fence.abort();
  const cache: StateCacheOptions = {
    budget: deps.stateCache ?? new StateCacheBudget(config.processing.stateCacheBytes),
    maxUsers: config.processing.stateCacheUsers ?? undefined,
  };
  const restored = await restorePartitions(
    kafka,
    config.topics.userStateChangelog,
    [p],
    deps.serde,
    config.appId,
    deps.logger,
    { cache },
  );
  const part = restored.partitions.get(p);
  const states = part?.store ?? new StateStore(cache);
  const checkpoint = part?.checkpoint;
  const ahead = part?.aheadOfCheckpoint() ?? new Map<string, bigint>();
  const processor = new PartitionProcessor(
    states,
    {
      encoder: deps.encoder,
      manifest: deps.manifest,
      params: deps.params,
      profilesEnabled: config.profilesEnabled,
    },
    { maxEventTimeMs: checkpoint?.maxEventTimeMs, ahead },
  );
  const { committed, logStart } = await inputOffsets(kafka, config, p);
  if (checkpoint !== undefined && committed >= 0n && committed < checkpoint.offset) {
    // Offsets and checkpoints commit in one transaction, so only a reset makes this happen.
    throw new ProcessorError(
      'OFFSETS_BEHIND_STATE',
      `input partition ${p}: the group's committed offset ${committed} is behind the changelog checkpoint ` +
        `${checkpoint.offset} (offsets reset while the changelog was kept); processing would apply ` +
        `${checkpoint.offset - committed} records twice and emit their outputs again. Reprocess with a new ` +
        'IDRIFT_APP_ID, or reset the offsets to the checkpoint',
      { context: { partition: p } },
    );
  }
  const nextOffset = resumeOffset(committed, checkpoint, p, deps.logger);
  // Where the input after the checkpoint begins: retention may have deleted part of it (a long
  // outage, size-bound retention), and those changes are lost. Asked for a deleted offset, the
  // consumer would jump to the log's end: the replay would find nothing, or never finish.
  const from = checkpoint === undefined ? 0n : inputAfter(checkpoint.offset, logStart, p, deps.logger);
  const dirty = new DirtyUsers();
  const t0 = Date.now();
  const replayed =
    checkpoint !== undefined && nextOffset > checkpoint.offset
      ? await replayInput(
          deps,
          p,
          { from: from < nextOffset ? from : nextOffset, to: nextOffset, usersAhead: ahead.size },
          { processor, states, dirty },
          stopping,
        )
      : 0;
  // Resumed at the checkpoint (no committed offset), the live loop does the replay's work, so it
  // keeps skipping the records that users written ahead of the checkpoint already hold.
  if (committed >= 0n || checkpoint === undefined) processor.endReplay();
  const restoreMs = restored.durationMs + (Date.now() - t0);
  metrics.restoreDurationSeconds.observe(restoreMs / 1000);
  metrics.restoredUsers.inc(states.size);
  metrics.replayedRecords.inc(replayed);
  metrics.usersInState.set({ partition: String(p) }, states.size);
  return {
    partition: p,
    producer,
    states,
    processor,
    nextOffset,
    lock: Promise.resolve(),
    lastRecordWallMs: deps.clock.nowMs(),
    lastWatermarkMs: processor.watermarkMs,
    restoreMs,
    dirty,
    // Without a checkpoint the first transaction writes one: from then on a checkpoint exists, so a
    // changelog without one can only be version 2's, whose states were current at every commit.
    hasCheckpoint: checkpoint !== undefined,
    replayedRecords: replayed,
    dropped: false,
  };
}

/**
 * Input records [from, to) of partition p through the task's processor, as the live loop would
 * process them, outputs discarded; new states go straight into the store (the offsets up to `to`
 * are committed, so these states are too) and their users become dirty, due at once: an instance
 * that dies sooner than the flush interval (a crash loop) would otherwise leave the checkpoint
 * where it was, and every restart would replay more (the crash scenario's restarts replayed up to
 * 11,000 records per partition). Returns the records replayed.
 */
async function replayInput(
  deps: PartitionTaskDeps,
  p: number,
  range: { readonly from: bigint; readonly to: bigint; readonly usersAhead: number },
  into: { readonly processor: PartitionProcessor; readonly states: StateStore; readonly dirty: DirtyUsers },
  stopping: () => boolean,
): Promise<number> {
  const { config, kafka, serde, limits, logger, metrics } = deps;
  const from: DirtyPosition = { offset: range.from, maxEventTimeMs: into.processor.maxEventTimeSeenMs };
  let replayed = 0;
  let expected = range.from;
  let gap = 0n;
  const hooks = registryRetryHooks({
    metrics,
    logger,
    partition: p,
    during: 'replay',
    isRunning: () => !stopping(),
    heartbeat: () => Promise.resolve(),
  });
  const res = await readToEnd(kafka, {
    topic: config.topics.input,
    groupId: `${config.appId}.restore.${process.pid}.${randomUUID()}`,
    timeoutMs: 600_000,
    stallMs: RESTORE_STALL_MS,
    range: { from: new Map([[p, range.from]]), until: new Map([[p, range.to]]) },
    onBatch: async (_partition, messages) => {
      const first = messages[0];
      if (first && BigInt(first.offset) > expected) gap += BigInt(first.offset) - expected;
      // In chunks of the live loop's size: a fetched batch holds up to 4 MiB of input (tens of
      // thousands of records), and one encoder call should not cover all of it. (The soak's RSS
      // spread between process lives remained after this change; see soak.md's per-life table.)
      for (let i = 0; i < messages.length; i += config.kafka.maxBatchRecords) {
        const records: PipelineRecord[] = [];
        for (const m of messages.slice(i, i + config.kafka.maxBatchRecords)) {
          records.push(
            await decodeRecordWithRetry(
              m,
              { serde, limits, maxRecordBytes: config.kafka.maxRecordBytes },
              hooks,
            ),
          );
        }
        const plan = await into.processor.process(records);
        for (const [userId, st] of plan.stateWrites) {
          if (st === null) into.states.delete(userId);
          else into.states.set(userId, st);
          into.dirty.mark(userId, from, Number.NEGATIVE_INFINITY);
        }
      }
      replayed += messages.length;
      expected = BigInt((messages[messages.length - 1] as KafkaMessage).offset) + 1n;
    },
  });
  if (res.failure || res.unfinished.length > 0) {
    throw readFailure(res.failure, `input replay of partition ${p} did not finish`);
  }
  // Offsets in the range that held no record: transaction markers, or records deleted by retention.
  if (gap > 0n)
    logger.warn('input replay found offsets without records', { partition: p, offsets: Number(gap) });
  logger.child('restore').info('replayed input after the changelog checkpoint', {
    partition: p,
    records: replayed,
    from: range.from.toString(),
    to: range.to.toString(),
    usersAhead: range.usersAhead,
  });
  return replayed;
}

/**
 * The input offset to resume partition `p` at: the group's committed offset, or, when the group
 * has none but the changelog has a checkpoint, the checkpoint. The group's offsets expire after
 * the broker's offsets.retention.minutes (7 days by default) with no member, and the consumer
 * would then read the input from its start, applying to the restored states every record they
 * already hold and emitting its outputs again. After an orderly stop the checkpoint is the
 * committed offset itself (every dirty state is flushed); after a crash, the records between the
 * checkpoint and the lost committed offset are processed again with their outputs (the caller
 * keeps the processor skipping, per user, what the states written ahead of the checkpoint hold).
 */
function resumeOffset(
  committed: bigint,
  checkpoint: Checkpoint | undefined,
  p: number,
  logger: Logger,
): bigint {
  if (committed >= 0n || checkpoint === undefined) return committed;
  logger.warn(
    'no committed input offset although the changelog has a checkpoint (the group offsets expired?): resuming at the checkpoint',
    { partition: p, offset: checkpoint.offset.toString() },
  );
  return checkpoint.offset;
}

/**
 * Where the input after a checkpoint at `checkpointOffset` begins: the checkpoint, or the log
 * start when retention has deleted records after it (reported as lost: their changes never
 * reached the changelog, and nothing can replay them).
 */
function inputAfter(checkpointOffset: bigint, logStart: bigint, p: number, logger: Logger): bigint {
  if (logStart <= checkpointOffset) return checkpointOffset;
  logger.error('input after the changelog checkpoint was deleted by retention before it was processed', {
    partition: p,
    from: checkpointOffset.toString(),
    logStart: logStart.toString(),
    lostOffsets: Number(logStart - checkpointOffset),
  });
  return logStart;
}

/** Partition p's committed offset in the group (-1: none) and the input log's start offset, in one admin session. */
async function inputOffsets(
  kafka: Kafka,
  config: Config,
  p: number,
): Promise<{ committed: bigint; logStart: bigint }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const committed = await admin.fetchOffsets({ groupId: config.appId, topics: [config.topics.input] });
    const o = committed[0]?.partitions.find((x) => x.partition === p)?.offset;
    const offsets = await admin.fetchTopicOffsets(config.topics.input);
    return {
      committed: o !== undefined && o !== '-1' ? BigInt(o) : -1n,
      logStart: BigInt(offsets.find((x) => x.partition === p)?.low ?? '0'),
    };
  } finally {
    await admin.disconnect();
  }
}
