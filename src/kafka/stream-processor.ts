/**
 * The consume → process → produce loop with exactly-once effect (kafkajs, no KIP-447): the
 * consumer, its restart policy, partition assignment and the batch loop. The pieces it drives:
 *   partition-task.ts       per input partition: producer, fence, restore, committed offset
 *   record-decoder.ts       bytes → event | erasure | bad record (registry outages retried)
 *   output-transaction.ts   one transaction per chunk: outputs, dead letters, changelog, offset
 *   failure-policy.ts       which Kafka failure is fatal, fenced or transient
 *
 * Per chunk of records: decode/validate → process → ONE transaction → only after its commit do
 * the new states become the task's states. Any failure inside a transaction aborts it, drops the
 * task (its states may be ahead of the committed offsets) and rethrows; kafkajs restarts the
 * consumer, which re-opens the task: fence, restore, continue from the committed offset. Records
 * below the committed offset (a re-delivered batch) are skipped, so nothing is applied twice.
 */
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, PartitionMetadata } from 'kafkajs';
import type { UserState } from '../core/user-state';
import type { Config } from '../shared/config';
import { ProcessorError, describeError, isProcessorError, isRetriable } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { Metrics } from '../shared/metrics';
import { withRetry } from '../shared/retry';
import type { Clock } from '../core/clock';
import type { CoreParams } from '../core/params';
import type { ValidationLimits } from '../core/validate';
import type { Encoder } from '../model/encoder';
import type { ModelManifest } from '../model/model-manifest';
import type { BatchPlan, PipelineRecord } from '../pipeline/partition-processor';
import { kafkaAccessPlan, verifyKafkaAccess } from './access-check';
import { ChurnRiskSchema, InterestMigrationSchema, InterestProfileSchema } from './avro-types.gen';
import { kafkaClientOptions } from './clients';
import { authorizationFailure, stopsService } from './failure-policy';
import type { OutputSchemaIds } from './output-transaction';
import { buildTopicMessages, commitTransaction, keyValueBytes, messageBytes } from './output-transaction';
import type { Checkpoint } from '../state/checkpoint';
import { entryState } from '../state/changelog-entry';
import type { ChangelogWrites } from '../state/changelog-writes';
import { takeChangelogWrites } from '../state/changelog-writes';
import type { DirtyPosition } from '../state/dirty-users';
import type { PartitionTask } from './partition-task';
import { openPartitionTask, transactionalId, withLock } from './partition-task';
import { StateCacheBudget } from '../state/state-cache-budget';
import { keyPartition } from './key-partitioner';
import { PartitionOwners, addressAwareAssigner } from './partition-owners';
import type { DecodeDeps } from './record-decoder';
import { decodeRecordIfKnown, decodeRecordWithRetry, registryRetryHooks } from './record-decoder';
import type { SubjectConfigClient } from './registry-compatibility';
import { outputCompatibility } from './registry-compatibility';
import type { AvroSerde } from './serde';
import { valueSubject } from './serde';

export interface StreamProcessorDeps {
  readonly config: Config;
  readonly kafka: Kafka;
  readonly serde: AvroSerde;
  readonly encoder: Encoder;
  readonly manifest: ModelManifest;
  readonly params: CoreParams;
  readonly limits: ValidationLimits;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Records per transaction at most. */
  readonly maxChunkRecords: number;
  /** Sets each output subject's compatibility level before its schema is registered. */
  readonly subjectConfig: SubjectConfigClient;
  /** This instance's HTTP base URL, published to the group for lookups; null = not published. */
  readonly httpUrl: string | null;
  /** Told of every committed state change (the interest lookup's cache follows it); none = no one. */
  readonly committedStates?: CommittedStatesListener;
}

/**
 * Follows the committed states:
 * - `committed` right after a transaction's states enter the store, with the users it changed
 *   (null: deleted);
 * - `rebalancing` when the group starts a rebalance and when this instance is assigned its
 *   partitions (what was known of the other members' partitions is stale);
 * - `dropped` when a partition's states leave this instance (revoked, failed or shut down);
 * - `stopping` once, when the processor stops.
 * Calls are synchronous on the processing thread, in commit order.
 */
export interface CommittedStatesListener {
  committed(partition: number, writes: ReadonlyMap<string, UserState | null>): void;
  rebalancing(): void;
  dropped(partition: number): void;
  stopping(): void;
}

/** Where one user's state is, from this instance's point of view. */
export type UserLookup =
  | { readonly kind: 'local'; readonly partition: number; readonly state: UserState | undefined }
  | { readonly kind: 'restoring'; readonly partition: number }
  /** `partitions`: the input topic's partition count, which with the key gives the partition. */
  | { readonly kind: 'remote'; readonly partition: number; readonly partitions: number }
  | { readonly kind: 'unavailable' };

export class StreamProcessor {
  private consumer: Consumer | null = null;
  private readonly tasks = new Map<number, Promise<PartitionTask>>();
  private assigned = new Set<number>();
  private schemaIds: OutputSchemaIds | null = null;
  private readonly log: Logger;
  private stopping = false;
  private starting: Promise<void> | null = null;
  private stopped: Promise<void> | null = null;
  /**
   * Set by stop() just before the group is left: lookups then answer 'unavailable'. Until then a
   * stopping instance still owns its partitions (it flushes their states, seconds), and other
   * members keep redirecting lookups to it: its committed states answer them.
   */
  private leaving = false;
  /** Tasks whose partition is restored (the restored partitions), for synchronous reads of the committed states. */
  private readonly readyTasks = new Map<number, PartitionTask>();
  /** The input topic's partitions, for the producers' default (murmur2) key → partition mapping. */
  private partitionMetadata: PartitionMetadata[] = [];
  private owners: PartitionOwners | null = null;
  private joined = false;
  private idleTimer: NodeJS.Timeout | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  /** Wall-clock ms of the loop's last sign of life: a fetch (even an empty one) or a batch. */
  lastLoopTurnMs = 0;
  /** Set when the consumer crashed for good; the app exits non-zero. */
  fatalError: unknown = null;
  onFatal: (e: unknown) => void = () => undefined;

  /** One bound on the decoded states of every partition this instance owns. */
  private readonly stateCache: StateCacheBudget;

  constructor(private readonly deps: StreamProcessorDeps) {
    this.log = deps.logger.child('processor');
    this.stateCache = new StateCacheBudget(deps.config.processing.stateCacheBytes);
  }

  /** The partition of `userId` and whether its committed state is here (no I/O). */
  lookup(userId: string): UserLookup {
    if (this.partitionMetadata.length === 0 || this.leaving) return { kind: 'unavailable' };
    const partition = keyPartition(userId, this.partitionMetadata.length);
    const task = this.readyTasks.get(partition);
    if (task) return { kind: 'local', partition, state: task.states.get(userId) };
    if (this.assigned.has(partition)) return { kind: 'restoring', partition };
    return { kind: 'remote', partition, partitions: this.partitionMetadata.length };
  }

  /** The HTTP URL of the instance that owns `partition` (from the group's metadata), or null. */
  ownerOf(partition: number): Promise<string | null> {
    return this.owners ? this.owners.ownerOf(partition) : Promise.resolve(null);
  }

  /** True when the group is joined and every assigned partition is restored. */
  get ready(): boolean {
    return this.joined && [...this.assigned].every((p) => this.readyTasks.has(p));
  }

  get assignedPartitions(): number[] {
    return [...this.assigned].sort((a, b) => a - b);
  }

  /** Connects, registers the output schemas, joins the group and starts consuming; once. */
  start(): Promise<void> {
    this.starting ??= this.startOnce();
    return this.starting;
  }

  private async startOnce(): Promise<void> {
    const { config, serde } = this.deps;
    // A registry outage at start-up is transient: wait for it (not ready meanwhile), never exit.
    const levels = outputCompatibility(config);
    const register = async (topic: string, schema: object): Promise<number> => {
      const subject = valueSubject(topic);
      const level = levels[subject] ?? 'BACKWARD';
      await this.deps.subjectConfig.set(subject, level);
      return serde.register(subject, schema, level);
    };
    this.schemaIds = await withRetry(
      async () => ({
        migration: await register(config.topics.migrations, InterestMigrationSchema),
        churn: await register(config.topics.churn, ChurnRiskSchema),
        profile: await register(config.topics.profiles, InterestProfileSchema),
      }),
      {
        initialDelayMs: 250,
        maxDelayMs: 5_000,
        maxRetries: Infinity,
        shouldRetry: (e) => isRetriable(e) && !this.stopping,
        onRetry: (e, _attempt, delayMs) => {
          this.deps.metrics.retries.inc({ dependency: 'schema-registry' });
          this.log.warn('schema registry unavailable at start; retrying', {
            delayMs,
            error: describeError(e),
          });
        },
      },
    );
    const consumer = this.deps.kafka.consumer({
      groupId: config.appId,
      readUncommitted: false,
      sessionTimeout: config.kafka.sessionTimeoutMs,
      heartbeatInterval: config.kafka.heartbeatIntervalMs,
      rebalanceTimeout: Math.max(60_000, config.kafka.sessionTimeoutMs),
      maxWaitTimeInMs: 250,
      partitionAssigners: [addressAwareAssigner(this.deps.httpUrl)],
      retry: {
        retries: 3,
        // kafkajs wraps errors and may drop ours (it keeps only `cause`), so bugs are
        // recorded in eachBatch before they propagate.
        restartOnFailure: async (e: Error) => {
          if (this.fatalError !== null || this.stopping) return false;
          const denied = await this.missingPermission(e);
          if (denied) {
            this.stopForPermission(denied);
            return false;
          }
          this.log.warn('consumer restarting after a failure', { error: describeError(e) });
          return true;
        },
      },
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.deps.metrics.rebalances.inc();
      const mine = new Set<number>(payload.memberAssignment[config.topics.input] ?? []);
      this.onAssignment(mine);
    });
    this.lastLoopTurnMs = this.deps.clock.nowMs();
    const turned = (): void => {
      this.lastLoopTurnMs = this.deps.clock.nowMs();
      this.deps.metrics.loopLastTurnSeconds.set(this.lastLoopTurnMs / 1000);
    };
    consumer.on(consumer.events.FETCH, turned);
    consumer.on(consumer.events.HEARTBEAT, turned);
    consumer.on(consumer.events.END_BATCH_PROCESS, turned);
    consumer.on(consumer.events.REBALANCING, () => {
      this.ownersChanged();
      this.joined = false;
      // While stopping, assignments are no longer followed (onAssignment): stop answering lookups
      // rather than answer for partitions another member may own by now.
      if (this.stopping) this.stopServingLookups();
    });
    // kafkajs asks restartOnFailure only about retriable errors; after any other crash the
    // consumer stays down while the process looks alive. Stop instead, naming the cause.
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (payload.restart || this.fatalError !== null || this.stopping) return;
      const cause = payload.error;
      this.fatalError = cause;
      void this.missingPermission(cause).then((denied) => {
        if (denied) return this.stopForPermission(denied);
        const crashed = new ProcessorError(
          'KAFKA_CONSUMER_CRASHED',
          `the Kafka consumer stopped after an error it does not retry: ${cause.message}`,
          { cause },
        );
        this.log.error('consumer crashed and will not restart; stopping', { error: describeError(crashed) });
        this.onFatal(crashed);
      });
    });
    this.consumer = consumer;
    const idleMs = config.processing.idlePartitionTimerMs;
    if (idleMs > 0) {
      this.idleTimer = setInterval(
        () => void this.tickIdlePartitions(),
        Math.max(100, Math.floor(idleMs / 2)),
      );
      this.idleTimer.unref();
    }
    const flushMs = config.processing.flushIntervalMs;
    if (flushMs > 0) {
      this.flushTimer = setInterval(
        () => void this.flushQuiet(false),
        Math.max(100, Math.floor(flushMs / 2)),
      );
      this.flushTimer.unref();
    }
    this.partitionMetadata = await inputPartitions(this.deps.kafka, config.topics.input);
    this.owners = new PartitionOwners(this.deps.kafka, config.appId, config.topics.input);
    await consumer.connect();
    await consumer.subscribe({ topic: config.topics.input, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 4,
      eachBatch: async (payload) => {
        try {
          await this.eachBatch(payload);
        } catch (e) {
          if (stopsService(e)) await this.failFatal(e);
          throw e;
        }
      },
    });
  }

  /** A fatal error (a bug, or a permission taken away): the service stops, naming it. The first one wins. */
  private async failFatal(e: unknown): Promise<void> {
    if (this.fatalError !== null) return;
    this.fatalError = e;
    const denied = this.stopping ? null : await this.missingPermission(e);
    if (denied) this.stopForPermission(denied);
    else {
      this.log.error('processing failed with a bug; stopping', { error: describeError(e) });
      this.onFatal(e);
    }
  }

  /**
   * A permission taken away while running is not transient: the service stops with the missing
   * permission named instead of restarting for ever. What kafkajs reports does not always name
   * it (a refused group or transactional-id coordinator reads "failed to find group
   * coordinator"; a transaction refused because its offsets need Read on the input topic reads
   * as a Write failure), so any authorization failure re-runs the start-up access check, whose
   * message names the resource and the operations; its own failure leaves the first error.
   */
  private async missingPermission(e: unknown): Promise<ProcessorError | null> {
    const config = this.deps.config;
    const denied =
      isProcessorError(e) && e.code === 'KAFKA_AUTHORIZATION_FAILED'
        ? e
        : authorizationFailure(e, {
            operation: 'Read',
            resource: `topic ${config.topics.input} / group ${config.appId}`,
          });
    if (!denied && (e as Error | null)?.name !== 'KafkaJSGroupCoordinatorNotFound') return null;
    const named = await verifyKafkaAccess(
      kafkaClientOptions(config),
      kafkaAccessPlan(config),
      this.deps.logger,
    ).then(
      () => null,
      (x: unknown) => (isProcessorError(x) && x.code === 'KAFKA_AUTHORIZATION_FAILED' ? x : null),
    );
    return named ?? denied;
  }

  private stopForPermission(denied: ProcessorError): void {
    this.fatalError = denied;
    this.log.error('missing Kafka permission; stopping', { error: describeError(denied) });
    this.onFatal(denied);
  }

  /** What was known of the other members' partitions is stale, here and in the lookup's cache. */
  private ownersChanged(): void {
    this.owners?.invalidate();
    this.deps.committedStates?.rebalancing();
  }

  private onAssignment(mine: Set<number>): void {
    if (this.stopping) {
      // A rejoin while stopping (no REBALANCING event): the partitions may have moved.
      this.stopServingLookups();
      return;
    }
    for (const p of this.assigned) {
      if (!mine.has(p)) void this.dropTask(p, 'revoked');
    }
    this.assigned = mine;
    this.joined = true;
    // A rejoin (an expired member id, a restarted consumer) assigns without a REBALANCING event.
    this.ownersChanged();
    this.log.info('partitions assigned', { partitions: [...mine].sort((a, b) => a - b) });
    // Fence and restore eagerly, so readiness reflects restored state before the first fetch.
    for (const p of mine) this.openEagerly(p);
  }

  /**
   * Opens partition p's task now rather than at its next batch (which a quiet partition may not
   * get). A transient failure (a broker bounce while fencing, a restore that timed out) is tried
   * again with jittered backoff while p stays assigned: else a quiet partition stayed closed, the
   * instance never ready, and its processing-time timers never fired, until input came.
   */
  private openEagerly(p: number): void {
    // Checked before every attempt, not only after a failure: a retry due after p was revoked
    // would fence the new owner and serve lookups from a copy it no longer keeps up to date.
    const owned = (): boolean => this.assigned.has(p) && !this.stopping;
    withRetry(async () => (owned() ? this.task(p) : null), {
      initialDelayMs: 1_000,
      maxDelayMs: 30_000,
      maxRetries: Infinity,
      // A kafkajs error too (a connection lost while fencing): anything but a fatal error or a bug.
      shouldRetry: (e) => !stopsService(e) && owned(),
      onRetry: (e, _attempt, delayMs) =>
        this.log.warn('partition task start failed; retrying', {
          partition: p,
          delayMs,
          error: describeError(e),
        }),
    }).catch((e: unknown) => {
      // A fatal start (an unreadable changelog) stops the service even if no input ever arrives
      // for the partition: its eachBatch, which would also stop it, may never run.
      if (stopsService(e) && !this.stopping) return this.failFatal(e);
      this.log.warn('partition task start failed', { partition: p, error: describeError(e) });
    });
  }

  private task(p: number): Promise<PartitionTask> {
    let t = this.tasks.get(p);
    if (!t && this.stopping) {
      return Promise.reject(new ProcessorError('KAFKA_TRANSIENT', `partition ${p} requested while stopping`));
    }
    if (!t) {
      const created = this.createTask(p, () => this.tasks.get(p) === created && this.assigned.has(p));
      t = created;
      this.tasks.set(p, t);
      t.catch(() => {
        if (this.tasks.get(p) === created) this.tasks.delete(p);
      });
    }
    return t;
  }

  /**
   * Opens partition `p`'s task (fence, restore). `isCurrent` is false once the partition was
   * dropped while it restored (revoked, say): such a task is never made ready, or lookups would
   * read its frozen states as the partition's.
   */
  private async createTask(p: number, isCurrent: () => boolean): Promise<PartitionTask> {
    const task = await openPartitionTask(
      { ...this.deps, stateCache: this.stateCache },
      p,
      () => this.stopping,
    );
    if (!isCurrent()) {
      task.dropped = true;
      return task;
    }
    this.readyTasks.set(p, task);
    this.log.info('partition ready', { partition: p, users: task.states.size, restoreMs: task.restoreMs });
    return task;
  }

  /**
   * Drops `task` after one of its transactions (or what builds one) failed: its dirty users may
   * have been taken off for a transaction that never committed, so it must not write again. A
   * task already replaced (revoked and assigned again) is only marked, never its successor dropped.
   */
  private async dropFailed(task: PartitionTask, why: string): Promise<void> {
    const p = task.partition;
    const current = this.readyTasks.get(p) === task;
    task.dropped = true;
    if (current) await this.dropTask(p, why);
  }

  /** Runs `work` for `task`; any failure drops the task (dropFailed) and is rethrown. */
  private async dropOnFailure<T>(task: PartitionTask, why: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      await this.dropFailed(task, why);
      throw e;
    }
  }

  private async dropTask(p: number, why: string): Promise<void> {
    const t = this.tasks.get(p);
    const ready = this.readyTasks.get(p);
    if (ready) ready.dropped = true;
    this.tasks.delete(p);
    this.readyTasks.delete(p);
    this.deps.committedStates?.dropped(p);
    for (const gauge of [
      this.deps.metrics.usersInState,
      this.deps.metrics.stateCacheUsers,
      this.deps.metrics.lag,
      this.deps.metrics.watermarkSeconds,
    ])
      gauge.remove({ partition: String(p) });
    if (!t) return;
    try {
      const task = await t;
      task.dropped = true;
      task.states.close();
      await task.producer.disconnect();
    } catch {
      // the task never started or its producer is already broken: nothing to release
    }
    this.log.info('partition dropped', { partition: p, reason: why });
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const p = payload.batch.partition;
    const task = await heartbeatUntil(this.task(p), payload);
    await withLock(task, () => {
      // Dropped while this batch waited for the lock (a flush or timer transaction failed): its
      // producer may be mid-commit. Chaos seed 4: "Cannot call beginTransaction in state
      // COMMITTING" crashed the consumer. A retriable error makes kafkajs retry on a fresh task.
      if (task.dropped) {
        throw new ProcessorError(
          'KAFKA_TRANSIENT',
          `partition ${p} was dropped while the batch waited; retrying`,
        );
      }
      return this.processBatch(task, payload);
    });
  }

  /**
   * Processing-time timers (IDRIFT_IDLE_PARTITION_TIMER_MS > 0): a partition that has seen no
   * record for that long has its watermark advanced by the wall-clock time since, and the churn
   * timers that fall due fire with trigger PROCESSING_TIME_TIMER.
   */
  private async tickIdlePartitions(): Promise<void> {
    const idleMs = this.deps.config.processing.idlePartitionTimerMs;
    const now = this.deps.clock.nowMs();
    for (const [p, t] of this.tasks) {
      if (!this.readyTasks.has(p)) continue;
      const task = await t.catch(() => null);
      if (!task || now - task.lastRecordWallMs < idleMs || task.processor.pendingTimers === 0) continue;
      await withLock(task, async () => {
        if (task.dropped) return;
        const watermark = task.lastWatermarkMs + (this.deps.clock.nowMs() - task.lastRecordWallMs);
        const plan = task.processor.fireProcessingTimeTimers(watermark);
        // An eviction alone is a state change too. A replay cannot fire a wall-clock timer
        // again, so the states it changed go to the changelog in this same transaction.
        if (plan.outputs.length > 0 || plan.stateWrites.size > 0)
          await this.commit(task, plan, [], null, task.processor.maxEventTimeSeenMs, true);
      }).catch(async (e: unknown) => {
        // A bug or a refused permission stops the service, as it would from the consumer loop;
        // anything else waits for the next tick (the task restores afresh if its transaction failed).
        if (!this.stopping && stopsService(e)) await this.failFatal(e);
        else this.log.warn('processing-time timers failed', { partition: p, error: describeError(e) });
      });
    }
  }

  private async processBatch(task: PartitionTask, payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const heartbeat = (): Promise<void> => payload.heartbeat();
    // A stop ends the batch at its next chunk: the rest is fetched again by whoever owns the partition next.
    const isRunning = (): boolean => payload.isRunning() && !this.stopping;
    const isStale = (): boolean => payload.isStale();
    const { metrics } = this.deps;
    const p = batch.partition;
    metrics.consumed.inc({ partition: String(p) }, batch.messages.length);
    const fresh = batch.messages.filter((m) => task.nextOffset < 0n || BigInt(m.offset) >= task.nextOffset);
    const decodeDeps = this.decodeDeps();
    for (let i = 0; i < fresh.length; i += this.deps.maxChunkRecords) {
      if (!isRunning() || isStale()) return;
      const chunk = fresh.slice(i, i + this.deps.maxChunkRecords);
      const t0 = this.deps.clock.nowMs();
      const records: PipelineRecord[] = [];
      for (const m of chunk)
        records.push(decodeRecordIfKnown(m, decodeDeps) ?? (await this.decode(m, p, heartbeat, isRunning)));
      if (!isRunning()) return;
      let plan: BatchPlan;
      const startMaxEventTimeMs = task.processor.maxEventTimeSeenMs;
      try {
        plan = await task.processor.process(records);
      } catch (e) {
        await this.dropFailed(task, 'processing failed');
        throw e;
      }
      const last = chunk[chunk.length - 1] as KafkaMessage;
      await this.commit(task, plan, chunk, BigInt(last.offset) + 1n, startMaxEventTimeMs);
      metrics.inputBytes.inc({ partition: String(p) }, messageBytes(chunk));
      const now = this.deps.clock.nowMs();
      metrics.batchDurationSeconds.observe((now - t0) / 1000);
      metrics.batchRecords.observe(chunk.length);
      for (const m of chunk)
        metrics.endToEndLatencySeconds.observe(Math.max(0, now - Number(m.timestamp)) / 1000);
      metrics.lag.set({ partition: String(p) }, Number(BigInt(batch.highWatermark) - task.nextOffset));
      metrics.loopLastTurnSeconds.set(now / 1000);
      payload.resolveOffset(last.offset);
      task.lastRecordWallMs = now;
      task.lastWatermarkMs = plan.watermarkMs;
      await heartbeat();
    }
    if (fresh.length === 0 && batch.messages.length > 0) {
      payload.resolveOffset((batch.messages[batch.messages.length - 1] as KafkaMessage).offset);
    }
    metrics.loopLastTurnSeconds.set(this.deps.clock.nowMs() / 1000);
  }

  private decodeDeps(): DecodeDeps {
    const { config, limits, serde } = this.deps;
    return { serde, limits, maxRecordBytes: config.kafka.maxRecordBytes };
  }

  /**
   * Bytes → PipelineRecord; waits out a registry outage (heartbeating, counted as backpressure).
   * The loop tries decodeRecordIfKnown first, which needs no wait.
   */
  private decode(
    m: KafkaMessage,
    p: number,
    heartbeat: () => Promise<void>,
    isRunning: () => boolean,
  ): Promise<PipelineRecord> {
    const { metrics } = this.deps;
    return decodeRecordWithRetry(
      m,
      this.decodeDeps(),
      registryRetryHooks({
        metrics,
        logger: this.log,
        partition: p,
        during: 'processing',
        isRunning,
        heartbeat,
      }),
    );
  }

  /**
   * One transaction: outputs, dead letters and (unless null) the consumed offset; plus the dirty
   * states that are due (at most IDRIFT_STATE_FLUSH_MAX_STATES, oldest change first) and, when
   * they move it, the checkpoint (see partition-task.ts). `startMaxEventTimeMs` is the partition's
   * largest event time before `chunk`: where the chunk's changes start, for a replay.
   */
  private commit(
    task: PartitionTask,
    plan: BatchPlan,
    chunk: KafkaMessage[],
    nextOffset: bigint | null,
    startMaxEventTimeMs: number,
    writeChangedNow = false,
  ): Promise<void> {
    return this.dropOnFailure(task, 'commit failed', () =>
      this.commitOnce(task, plan, chunk, nextOffset, startMaxEventTimeMs, writeChangedNow),
    );
  }

  /** commit()'s work; `writeChangedNow`: the plan's changed users go to the changelog in this transaction, due or not. */
  private async commitOnce(
    task: PartitionTask,
    plan: BatchPlan,
    chunk: KafkaMessage[],
    nextOffset: bigint | null,
    startMaxEventTimeMs: number,
    writeChangedNow: boolean,
  ): Promise<void> {
    const { config, metrics, serde, manifest } = this.deps;
    const schemaIds = this.schemaIds;
    if (!schemaIds) throw new ProcessorError('INVARIANT_VIOLATED', 'commit before start()');
    const p = task.partition;
    const now = this.deps.clock.nowMs();
    const first = chunk[0];
    const changedAt: DirtyPosition = {
      offset: first ? BigInt(first.offset) : committedEnd(task),
      maxEventTimeMs: startMaxEventTimeMs,
    };
    for (const userId of plan.stateWrites.keys()) task.dirty.mark(userId, changedAt, now);
    const { changelog, checkpoint } = this.changelogWrites(
      task,
      plan.stateWrites,
      nextOffset,
      now,
      false,
      writeChangedNow ? plan.stateWrites.keys() : [],
    );
    const topicMessages = buildTopicMessages(plan, chunk, changelog, checkpoint, {
      config,
      serde,
      schemaIds,
      partition: p,
      modelVersion: manifest.modelVersion,
      nowMs: now,
    });
    const consumed =
      nextOffset === null
        ? null
        : { groupId: config.appId, topic: config.topics.input, partition: p, offset: nextOffset };
    await this.transact(task, topicMessages, consumed);
    for (const [userId, st] of plan.stateWrites) {
      const value = changelog.get(userId);
      if (st === null) task.states.delete(userId);
      else if (value) task.states.setEncoded(userId, st, entryState(value));
      else task.states.set(userId, st);
    }
    this.written(task, changelog.size, checkpoint, topicMessages);
    metrics.transactions.inc({ outcome: 'committed' });
    for (const o of plan.outputs) {
      if (o.kind === 'migration') metrics.migrations.inc();
      else if (o.kind === 'profile') metrics.profiles.inc();
      else if (o.kind === 'churn') {
        const v = o.value as { level: string; trigger: string; status: string };
        metrics.churnAlerts.inc({ level: v.level, trigger: v.trigger, status: v.status });
      }
    }
    for (const d of plan.deadLetters) metrics.deadLettered.inc({ code: d.error.code });
    if (nextOffset !== null) task.nextOffset = nextOffset;
    metrics.processed.inc({ partition: String(p) }, plan.counts.processed);
    metrics.duplicates.inc(plan.counts.duplicates);
    metrics.late.inc(plan.counts.late);
    metrics.erased.inc(plan.counts.erased);
    metrics.evicted.inc(plan.counts.evicted);
    metrics.timersFired.inc(plan.counts.timersFired);
    metrics.usersInState.set({ partition: String(p) }, task.states.size);
    metrics.stateCacheUsers.set({ partition: String(p) }, task.states.liveSize);
    metrics.stateCacheBytes.set(this.stateCache.usedBytes);
    metrics.watermarkSeconds.set({ partition: String(p) }, plan.watermarkMs / 1000);
    if (!task.dropped) this.deps.committedStates?.committed(p, plan.stateWrites);
  }

  /**
   * The changelog writes of a transaction ending at input offset `nextOffset` (null: the
   * committed one): the due dirty users (`all`: the oldest, due or not), plus `alsoUsers`, and
   * the checkpoint when they move it or none exists yet (changelog-writes.ts).
   */
  private changelogWrites(
    task: PartitionTask,
    planned: ReadonlyMap<string, UserState | null>,
    nextOffset: bigint | null,
    now: number,
    all: boolean,
    alsoUsers: Iterable<string> = [],
  ): ChangelogWrites {
    const { flushIntervalMs, flushMaxRecords, flushMaxStates } = this.deps.config.processing;
    const end: DirtyPosition = {
      offset: nextOffset ?? committedEnd(task),
      maxEventTimeMs: task.processor.maxEventTimeSeenMs,
    };
    const users = all
      ? task.dirty.oldest(flushMaxStates)
      : task.dirty.due({
          changedBefore: now - flushIntervalMs,
          offsetBelow: end.offset - BigInt(flushMaxRecords),
          max: flushMaxStates,
        });
    const chosen = new Set(users);
    for (const u of alsoUsers) chosen.add(u);
    return takeChangelogWrites(
      task.dirty,
      chosen.size === users.length ? users : [...chosen],
      planned,
      (userId) => task.states.bytes(userId),
      end,
      !task.hasCheckpoint,
    );
  }

  private written(
    task: PartitionTask,
    records: number,
    checkpoint: Checkpoint | null,
    sent: ReturnType<typeof buildTopicMessages>,
  ): void {
    if (checkpoint) task.hasCheckpoint = true;
    const { metrics, config } = this.deps;
    const bytes = keyValueBytes(sent, config.topics.userStateChangelog);
    if (bytes > 0) metrics.changelogBytes.inc(bytes);
    if (records === 0) return;
    metrics.stateFlushes.inc();
    metrics.changelogRecords.inc(records);
  }

  /** Commits one transaction of `task`; a failure drops the task (it restores afresh) and rethrows. */
  private async transact(
    task: PartitionTask,
    topicMessages: ReturnType<typeof buildTopicMessages>,
    consumed: Parameters<typeof commitTransaction>[2],
  ): Promise<void> {
    const { config, metrics } = this.deps;
    const p = task.partition;
    const endTimer = metrics.commitDurationSeconds.startTimer();
    try {
      await commitTransaction(task.producer, topicMessages, consumed, {
        partition: p,
        resource: `topics ${topicMessages.map((t) => t.topic).join(', ')} or transactional id ${transactionalId(config, p)}`,
      });
    } catch (e) {
      metrics.transactions.inc({ outcome: 'aborted' });
      const current = this.readyTasks.get(p) === task;
      await this.dropFailed(task, 'transaction failed');
      const fenced = isProcessorError(e) && e.code === 'KAFKA_FENCED';
      // A transient failure (a broker hiccup) of a quiet partition's flush or timer transaction
      // would otherwise leave it without a task (restoring, not ready) until input arrives. Not
      // when fenced: another instance owns the partition, and opening it again would fence that one.
      if (current && !fenced && isRetriable(e) && this.assigned.has(p) && !this.stopping) this.openEagerly(p);
      if (fenced) {
        metrics.fenced.inc();
        this.log.warn(
          'producer fenced: another instance owns this partition now; dropping it and rejoining',
          {
            partition: p,
            error: String(e.context.kafkaError),
          },
        );
      }
      throw e;
    } finally {
      endTimer();
    }
  }

  /**
   * Transactions with only dirty states and the checkpoint, no input offset: for a partition gone
   * quiet (states due with no record to carry them) and, with `all`, at stop (every dirty state).
   */
  private flushTask(task: PartitionTask, all: boolean): Promise<void> {
    return this.dropOnFailure(task, 'state flush failed', () => this.flushDirty(task, all));
  }

  private async flushDirty(task: PartitionTask, all: boolean): Promise<void> {
    const { config, serde, manifest } = this.deps;
    const schemaIds = this.schemaIds;
    if (!schemaIds) return;
    while (!task.dropped && task.dirty.size > 0 && task.nextOffset >= 0n) {
      const now = this.deps.clock.nowMs();
      const { changelog, checkpoint } = this.changelogWrites(task, new Map(), null, now, all);
      if (changelog.size === 0) return;
      const topicMessages = buildTopicMessages(
        { outputs: [], deadLetters: [], lateEvents: [] },
        [],
        changelog,
        checkpoint,
        {
          config,
          serde,
          schemaIds,
          partition: task.partition,
          modelVersion: manifest.modelVersion,
          nowMs: now,
        },
      );
      await this.transact(task, topicMessages, null);
      this.deps.metrics.transactions.inc({ outcome: 'committed' });
      this.written(task, changelog.size, checkpoint, topicMessages);
    }
  }

  /**
   * Writes the due states of every ready task; with `all` (at stop), every dirty state of every
   * task, waiting for those still restoring: a replay makes users dirty.
   */
  private async flushQuiet(all: boolean): Promise<void> {
    const tasks = all
      ? (await Promise.all([...this.tasks.values()].map((t) => t.catch(() => null)))).filter(
          (t): t is PartitionTask => t !== null,
        )
      : [...this.readyTasks.values()];
    for (const task of tasks) {
      if (task.dirty.size === 0) continue;
      await withLock(task, () => this.flushTask(task, all)).catch(async (e: unknown) => {
        // A refused permission or a bug (fatal) stops the service as it would from the consumer
        // loop; anything else waits for the next flush (the task restores afresh if its
        // transaction failed).
        // While stopping too: the stop goes on, and the process exits 1 naming the error.
        const denied = this.stopping ? null : await this.missingPermission(e);
        if (denied) this.stopForPermission(denied);
        else if (stopsService(e)) await this.failFatal(e);
        else this.log.warn('state flush failed', { partition: task.partition, error: describeError(e) });
      });
    }
  }

  private pauseInput(): void {
    try {
      this.consumer?.pause([{ topic: this.deps.config.topics.input }]);
    } catch {
      // consumer.run() has not created the group yet: nothing is fetched, nothing to pause
    }
  }

  private stopServingLookups(): void {
    if (this.leaving) return;
    this.leaving = true;
    this.deps.committedStates?.stopping();
  }

  /** Ordered stop: no new fetches, the batch in flight commits its current chunk, dirty states are flushed, the group is left, clients close. */
  stop(): Promise<void> {
    this.stopped ??= this.stopOnce();
    return this.stopped;
  }

  private async stopOnce(): Promise<void> {
    this.stopping = true;
    // A start still under way ends first (its waits give up once `stopping` is set), so the
    // consumer, timers and owner lookup it creates are there to be stopped below; otherwise the
    // consumer would join the group after the stop and the process exit without leaving it.
    await this.starting?.catch(() => undefined);
    if (this.idleTimer) clearInterval(this.idleTimer);
    const errors: unknown[] = [];
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.consumer) {
      // Flush before consumer.stop(), which leaves the group: once we have left, the member that
      // takes our partitions over fences our producers, and a flush still running fails (its
      // states then reach the changelog only if that member replays and writes them). Paused, the
      // consumer fetches no more but keeps heartbeating; the batch in flight ends at its next chunk.
      this.pauseInput();
      await this.flushQuiet(true);
    }
    this.stopServingLookups();
    await this.owners?.close();
    if (this.consumer) {
      await this.consumer.stop().catch((e: unknown) => errors.push(e));
      await this.consumer.disconnect().catch((e: unknown) => errors.push(e));
    }
    for (const p of [...this.tasks.keys()])
      await this.dropTask(p, 'shutdown').catch((e: unknown) => errors.push(e));
    if (errors.length > 0) this.log.warn('errors during stop', { errors: errors.map(describeError) });
  }
}

/**
 * Waits for `work` (a partition's restore and replay), heartbeating every second meanwhile:
 * kafkajs heartbeats only between batches, so a restore longer than the session timeout inside
 * eachBatch got the member evicted, its partitions moved, restored again elsewhere, and so on
 * (the soak's rolling restarts: 10–30 s restores, rebalances for minutes). A heartbeat refused
 * because the group rebalances throws, and kafkajs rejoins.
 */
async function heartbeatUntil<T>(work: Promise<T>, payload: EachBatchPayload): Promise<T> {
  let settled = false;
  void work.then(
    () => (settled = true),
    () => (settled = true),
  );
  while (!settled && payload.isRunning()) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([work.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, 1_000)))]);
    clearTimeout(timer);
    if (!settled) await payload.heartbeat();
  }
  return work;
}

/** The task's committed input offset, 0 before any: where its timer-only changes start. */
function committedEnd(task: PartitionTask): bigint {
  return task.nextOffset < 0n ? 0n : task.nextOffset;
}

async function inputPartitions(kafka: Kafka, topic: string): Promise<PartitionMetadata[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    return meta.topics[0]?.partitions ?? [];
  } finally {
    await admin.disconnect();
  }
}
