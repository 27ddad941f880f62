/**
 * The consume → process → produce loop with exactly-once effect (kafkajs, no KIP-447).
 *
 * One PartitionTask per assigned input partition p:
 *   - its own transactional producer, transactional id `<appId>-<inputTopic>-<p>`, so a newer
 *     owner of p fences this one (InitProducerId bumps the epoch and aborts our open transaction);
 *   - fenced FIRST, then its states restored from changelog partition p, then a PartitionProcessor;
 *   - per chunk of records: decode/validate → process → ONE transaction with the outputs, dead
 *     letters, changelog writes and the consumed offset → only after commit, the new states
 *     become the task's states.
 * Any failure inside a transaction aborts it, drops the task (its states may be ahead of the
 * committed offsets) and rethrows; kafkajs restarts the consumer, which re-creates the task:
 * fence, restore, and continue from the committed offset. Records below the committed offset
 * (a re-delivered batch) are skipped, so nothing is applied twice.
 */
import type {
  Consumer,
  EachBatchPayload,
  KafkaMessage,
  Kafka,
  Message,
  Producer,
  TopicMessages,
} from 'kafkajs';
import type { Config } from '../app/config';
import { ProcessorError, describeError, isProcessorError } from '../app/errors';
import type { Logger } from '../app/logger';
import type { Metrics } from '../app/metrics';
import type { Clock } from '../core/clock';
import type { CoreParams } from '../core/params';
import type { UserState } from '../core/user-state';
import type { ValidationLimits } from '../core/validate';
import type { Encoder } from '../model/encoder';
import type { ModelManifest } from '../model/model-manifest';
import type { BatchPlan, PipelineRecord } from '../pipeline/partition-processor';
import { PartitionProcessor } from '../pipeline/partition-processor';
import { decodeRecord } from './record-decoder';
import { authorizationFailure, kafkaAccessPlan, kafkaClientOptions, verifyKafkaAccess } from './clients';
import {
  ChurnRiskSchema,
  InterestMigrationSchema,
  InterestProfileSchema,
  UserStateSchema,
} from './avro-types.gen';
import { restorePartitions } from './changelog-restore';
import { deadLetterMessage } from './dead-letter';
import type { AvroSerde } from './serde';
import { valueSubject } from './serde';
import { toAvro } from './state-codec';

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
}

interface PartitionTask {
  readonly partition: number;
  readonly producer: Producer;
  readonly states: Map<string, UserState>;
  readonly processor: PartitionProcessor;
  /** Next offset to process: everything below it is committed. */
  nextOffset: bigint;
  /** Serialises batches and processing-time timer runs: one transaction at a time per producer. */
  lock: Promise<void>;
  /** Wall-clock time of the last record processed, ms. */
  lastRecordWallMs: number;
  /** Partition watermark (event time) after the last batch, ms. */
  lastWatermarkMs: number;
}

function withLock<T>(task: PartitionTask, fn: () => Promise<T>): Promise<T> {
  const run = task.lock.then(fn);
  task.lock = run.then(
    () => undefined,
    () => undefined,
  );
  return run;
}

interface SchemaIds {
  migration: number;
  churn: number;
  profile: number;
  state: number;
}

/** Errors that mean "a bug": the process must crash instead of retrying forever. */
function isBug(e: unknown): boolean {
  return (
    isProcessorError(e) &&
    [
      'INVARIANT_VIOLATED',
      'ENCODE_INVALID_OUTPUT',
      'MODEL_INVALID',
      'MODEL_FEED_INVALID',
      'CONFIG_INVALID',
      'KAFKA_AUTHORIZATION_FAILED',
      'KAFKA_AUTHENTICATION_FAILED',
    ].includes(e.code)
  );
}

export class StreamProcessor {
  private consumer: Consumer | null = null;
  private readonly tasks = new Map<number, Promise<PartitionTask>>();
  private assigned = new Set<number>();
  private schemaIds: SchemaIds | null = null;
  private readonly log: Logger;
  private stopping = false;
  private restoredPartitions = new Set<number>();
  private joined = false;
  private idleTimer: NodeJS.Timeout | null = null;
  /** Wall-clock ms of the loop's last sign of life: a fetch (even an empty one) or a batch. */
  lastLoopTurnMs = 0;
  /** Set when the consumer crashed for good; the app exits non-zero. */
  fatalError: unknown = null;
  onFatal: (e: unknown) => void = () => undefined;

  constructor(private readonly deps: StreamProcessorDeps) {
    this.log = deps.logger.child('processor');
  }

  /** True when the group is joined and every assigned partition is restored. */
  get ready(): boolean {
    return this.joined && [...this.assigned].every((p) => this.restoredPartitions.has(p));
  }

  get assignedPartitions(): number[] {
    return [...this.assigned].sort((a, b) => a - b);
  }

  async start(): Promise<void> {
    const { config, serde } = this.deps;
    // A registry outage at start-up is transient: wait for it (not ready meanwhile), never exit.
    for (let delayMs = 250; ; delayMs = Math.min(5_000, delayMs * 2)) {
      try {
        this.schemaIds = {
          migration: await serde.register(valueSubject(config.topics.migrations), InterestMigrationSchema),
          churn: await serde.register(valueSubject(config.topics.churn), ChurnRiskSchema),
          profile: await serde.register(valueSubject(config.topics.profiles), InterestProfileSchema),
          state: await serde.register(valueSubject(config.topics.userStateChangelog), UserStateSchema),
        };
        break;
      } catch (e) {
        if (!(isProcessorError(e) && e.retriable) || this.stopping) throw e;
        this.deps.metrics.retries.inc({ dependency: 'schema-registry' });
        this.log.warn('schema registry unavailable at start; retrying', { delayMs, error: describeError(e) });
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
    const consumer = this.deps.kafka.consumer({
      groupId: config.appId,
      readUncommitted: false,
      sessionTimeout: config.kafka.sessionTimeoutMs,
      heartbeatInterval: config.kafka.heartbeatIntervalMs,
      rebalanceTimeout: Math.max(60_000, config.kafka.sessionTimeoutMs),
      maxWaitTimeInMs: 250,
      retry: {
        retries: 3,
        // kafkajs wraps errors and may drop ours (it keeps only `cause`), so bugs are
        // recorded in eachBatch before they propagate.
        restartOnFailure: async (e: Error) => {
          if (this.fatalError !== null || this.stopping) return false;
          // A permission taken away while running is not transient: stop with the missing
          // permission named instead of restarting forever. kafkajs reports a refused group or
          // transactional-id coordinator lookup as "failed to find group coordinator", so
          // that case re-runs the start-up access check to name what is missing.
          let denied = authorizationFailure(e, {
            operation: 'Read',
            resource: `topic ${config.topics.input} / group ${config.appId}`,
          });
          if (!denied && e.name === 'KafkaJSGroupCoordinatorNotFound') {
            denied = await verifyKafkaAccess(
              kafkaClientOptions(config),
              kafkaAccessPlan(config),
              this.deps.logger,
            ).then(
              () => null,
              (x: unknown) => (isProcessorError(x) && x.code === 'KAFKA_AUTHORIZATION_FAILED' ? x : null),
            );
          }
          if (denied) {
            this.fatalError = denied;
            this.log.error('missing Kafka permission; stopping', { error: describeError(denied) });
            this.onFatal(denied);
            return false;
          }
          this.log.warn('consumer restarting after a failure', { error: describeError(e) });
          return true;
        },
      },
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const mine = new Set<number>(payload.memberAssignment[config.topics.input] ?? []);
      this.onAssignment(mine);
    });
    this.lastLoopTurnMs = this.deps.clock.nowMs();
    const turned = (): void => {
      this.lastLoopTurnMs = this.deps.clock.nowMs();
      this.deps.metrics.loopLastTurnMs.set(this.lastLoopTurnMs);
    };
    consumer.on(consumer.events.FETCH, turned);
    consumer.on(consumer.events.HEARTBEAT, turned);
    consumer.on(consumer.events.END_BATCH_PROCESS, turned);
    consumer.on(consumer.events.REBALANCING, () => {
      this.joined = false;
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
          if (isBug(e) && this.fatalError === null) {
            this.fatalError = e;
            this.log.error('processing failed with a bug; stopping', { error: describeError(e) });
            this.onFatal(e);
          }
          throw e;
        }
      },
    });
  }

  private onAssignment(mine: Set<number>): void {
    if (this.stopping) return;
    for (const p of this.assigned) {
      if (!mine.has(p)) void this.dropTask(p, 'revoked');
    }
    this.assigned = mine;
    this.joined = true;
    this.log.info('partitions assigned', { partitions: [...mine].sort((a, b) => a - b) });
    // Fence and restore eagerly, so readiness reflects restored state before the first fetch.
    for (const p of mine) {
      this.task(p).catch((e: unknown) =>
        this.log.warn('partition task start failed', { partition: p, error: describeError(e) }),
      );
    }
  }

  private task(p: number): Promise<PartitionTask> {
    let t = this.tasks.get(p);
    if (!t && this.stopping) {
      return Promise.reject(new ProcessorError('KAFKA_TRANSIENT', `partition ${p} requested while stopping`));
    }
    if (!t) {
      t = this.createTask(p);
      this.tasks.set(p, t);
      t.catch(() => {
        if (this.tasks.get(p) === t) this.tasks.delete(p);
      });
    }
    return t;
  }

  private async createTask(p: number): Promise<PartitionTask> {
    const { config, kafka, metrics } = this.deps;
    const producer = kafka.producer({
      transactionalId: `${config.appId}-${config.topics.input}-${p}`,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: config.kafka.transactionTimeoutMs,
    });
    await producer.connect();
    if (this.stopping) {
      await producer.disconnect();
      throw new ProcessorError('KAFKA_TRANSIENT', `partition ${p} start abandoned: stopping`);
    }
    // kafkajs sends InitProducerId(transactionalId) lazily, at the first transaction(): this
    // fences the previous owner and aborts its open transaction before we read the changelog.
    const fence = await producer.transaction();
    await fence.abort();
    const restored = await restorePartitions(
      kafka,
      config.topics.userStateChangelog,
      [p],
      this.deps.serde,
      config.appId,
      this.deps.logger,
    );
    const states = restored.states.get(p) ?? new Map<string, UserState>();
    metrics.restoreDurationMs.observe(restored.durationMs);
    metrics.restoredUsers.inc(states.size);
    metrics.usersInState.set({ partition: String(p) }, states.size);
    const admin = kafka.admin();
    await admin.connect();
    let nextOffset = -1n;
    try {
      const committed = await admin.fetchOffsets({ groupId: config.appId, topics: [config.topics.input] });
      const o = committed[0]?.partitions.find((x) => x.partition === p)?.offset;
      if (o !== undefined && o !== '-1') nextOffset = BigInt(o);
    } finally {
      await admin.disconnect();
    }
    const processor = new PartitionProcessor(
      { get: (u) => states.get(u), values: () => states.values() },
      {
        encoder: this.deps.encoder,
        manifest: this.deps.manifest,
        params: this.deps.params,
        profilesEnabled: config.profilesEnabled,
      },
    );
    this.restoredPartitions.add(p);
    this.log.info('partition ready', { partition: p, users: states.size, restoreMs: restored.durationMs });
    return {
      partition: p,
      producer,
      states,
      processor,
      nextOffset,
      lock: Promise.resolve(),
      lastRecordWallMs: this.deps.clock.nowMs(),
      lastWatermarkMs: processor.watermarkMs,
    };
  }

  private async dropTask(p: number, why: string): Promise<void> {
    const t = this.tasks.get(p);
    this.tasks.delete(p);
    this.restoredPartitions.delete(p);
    this.deps.metrics.usersInState.remove({ partition: String(p) });
    if (!t) return;
    try {
      const task = await t;
      await task.producer.disconnect();
    } catch {
      // the task never started or its producer is already broken: nothing to release
    }
    this.log.info('partition dropped', { partition: p, reason: why });
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const task = await this.task(payload.batch.partition);
    await withLock(task, () => this.processBatch(task, payload));
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
      if (!this.restoredPartitions.has(p)) continue;
      const task = await t.catch(() => null);
      if (!task || now - task.lastRecordWallMs < idleMs || task.processor.pendingTimers === 0) continue;
      await withLock(task, async () => {
        const watermark = task.lastWatermarkMs + (this.deps.clock.nowMs() - task.lastRecordWallMs);
        const plan = task.processor.fireProcessingTimeTimers(watermark);
        if (plan.outputs.length > 0) await this.commit(task, plan, [], null);
      }).catch((e: unknown) =>
        this.log.warn('processing-time timers failed', { partition: p, error: describeError(e) }),
      );
    }
  }

  private async processBatch(task: PartitionTask, payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const heartbeat = (): Promise<void> => payload.heartbeat();
    const isRunning = (): boolean => payload.isRunning();
    const isStale = (): boolean => payload.isStale();
    const { metrics, config } = this.deps;
    const p = batch.partition;
    metrics.consumed.inc({ partition: String(p) }, batch.messages.length);
    const fresh = batch.messages.filter((m) => task.nextOffset < 0n || BigInt(m.offset) >= task.nextOffset);
    for (let i = 0; i < fresh.length; i += this.deps.maxChunkRecords) {
      if (!isRunning() || isStale()) return;
      const chunk = fresh.slice(i, i + this.deps.maxChunkRecords);
      const t0 = this.deps.clock.nowMs();
      const records: PipelineRecord[] = [];
      for (const m of chunk) records.push(await this.decode(m, p, heartbeat, isRunning));
      if (!isRunning()) return;
      let plan: BatchPlan;
      try {
        plan = await task.processor.process(records);
      } catch (e) {
        await this.dropTask(p, 'processing failed');
        throw e;
      }
      const last = chunk[chunk.length - 1] as KafkaMessage;
      await this.commit(task, plan, chunk, BigInt(last.offset) + 1n);
      const now = this.deps.clock.nowMs();
      metrics.batchDurationMs.observe(now - t0);
      metrics.batchRecords.observe(chunk.length);
      for (const m of chunk) metrics.endToEndLatencyMs.observe(Math.max(0, now - Number(m.timestamp)));
      metrics.lag.set({ partition: String(p) }, Number(BigInt(batch.highWatermark) - task.nextOffset));
      metrics.loopLastTurnMs.set(now);
      payload.resolveOffset(last.offset);
      task.lastRecordWallMs = now;
      task.lastWatermarkMs = plan.watermarkMs;
      await heartbeat();
    }
    if (fresh.length === 0 && batch.messages.length > 0) {
      payload.resolveOffset((batch.messages[batch.messages.length - 1] as KafkaMessage).offset);
    }
    metrics.loopLastTurnMs.set(this.deps.clock.nowMs());
    void config;
  }

  /** Bytes → PipelineRecord. Retries (with backoff, heartbeating) while the registry is down. */
  private async decode(
    m: KafkaMessage,
    p: number,
    heartbeat: () => Promise<void>,
    isRunning: () => boolean,
  ): Promise<PipelineRecord> {
    const { config, limits, metrics, serde } = this.deps;
    const deps = { serde, limits, maxRecordBytes: config.kafka.maxRecordBytes };
    let delayMs = 100;
    for (;;) {
      try {
        return await decodeRecord(m, deps);
      } catch (e) {
        if (!(isProcessorError(e) && e.retriable)) throw e;
        if (!isRunning()) throw e;
        metrics.retries.inc({ dependency: 'schema-registry' });
        metrics.backpressureMs.inc({ dependency: 'schema-registry' }, delayMs);
        this.log.warn('schema registry unavailable; retrying', {
          partition: p,
          delayMs,
          error: describeError(e),
        });
        await new Promise((r) => setTimeout(r, delayMs));
        await heartbeat();
        delayMs = Math.min(5_000, delayMs * 2);
      }
    }
  }

  /** One transaction: outputs, dead letters, changelog and (unless null) the consumed offset. */
  private async commit(
    task: PartitionTask,
    plan: BatchPlan,
    chunk: KafkaMessage[],
    nextOffset: bigint | null,
  ): Promise<void> {
    const { config, metrics, serde, manifest } = this.deps;
    const ids = this.schemaIds;
    if (!ids) throw new ProcessorError('INVARIANT_VIOLATED', 'commit before start()');
    const p = task.partition;
    const byTopic = new Map<string, Message[]>();
    const add = (topic: string, m: Message): void => {
      const list = byTopic.get(topic);
      if (list) list.push(m);
      else byTopic.set(topic, [m]);
    };
    for (const o of plan.outputs) {
      switch (o.kind) {
        case 'migration':
          add(config.topics.migrations, { key: o.key, value: serde.encode(ids.migration, o.value) });
          metrics.migrations.inc();
          break;
        case 'churn': {
          const v = o.value as { level: string; trigger: string };
          add(config.topics.churn, { key: o.key, value: serde.encode(ids.churn, o.value) });
          metrics.churnAlerts.inc({ level: v.level, trigger: v.trigger });
          break;
        }
        case 'profile':
          add(config.topics.profiles, { key: o.key, value: serde.encode(ids.profile, o.value) });
          metrics.profiles.inc();
          break;
        case 'profile-tombstone':
          add(config.topics.profiles, { key: o.key, value: null });
          break;
      }
    }
    const byOffset = new Map(chunk.map((m) => [m.offset, m]));
    const nowMs = this.deps.clock.nowMs();
    for (const d of plan.deadLetters) {
      const original = byOffset.get(d.offset);
      if (!original)
        throw new ProcessorError('INVARIANT_VIOLATED', 'dead letter for an offset outside the chunk');
      add(
        config.topics.deadLetter,
        deadLetterMessage(original, d.error, d.stage, {
          sourceTopic: config.topics.input,
          partition: p,
          appId: config.appId,
          modelVersion: manifest.modelVersion,
          nowMs,
        }),
      );
      metrics.deadLettered.inc({ code: d.error.code });
    }
    for (const [userId, s] of plan.stateWrites) {
      add(config.topics.userStateChangelog, {
        key: userId,
        value: s === null ? null : serde.encode(ids.state, toAvro(s)),
        partition: p,
      });
    }
    const topicMessages: TopicMessages[] = [...byTopic.entries()].map(([topic, messages]) => ({
      topic,
      messages,
    }));
    const txn = await task.producer.transaction();
    try {
      for (const request of splitBySize(topicMessages, MAX_REQUEST_BYTES)) {
        await txn.sendBatch({ topicMessages: request, acks: -1 });
      }
      if (nextOffset !== null) {
        const offset = nextOffset.toString();
        await retryConcurrent(() =>
          txn.sendOffsets({
            consumerGroupId: config.appId,
            topics: [{ topic: config.topics.input, partitions: [{ partition: p, offset }] }],
          }),
        );
      }
      await txn.commit();
    } catch (e) {
      metrics.transactions.inc({ outcome: 'aborted' });
      await txn.abort().catch(() => undefined);
      await this.dropTask(p, 'transaction failed');
      // Records the broker can never accept are our bug, not a transient condition: retrying
      // would loop forever on the same chunk, so crash loudly instead.
      const type =
        (e as { type?: string; cause?: { type?: string } }).type ??
        (e as { cause?: { type?: string } }).cause?.type;
      if (type && FENCED.has(type)) {
        metrics.fenced.inc();
        this.log.warn(
          'producer fenced: another instance owns this partition now; dropping it and rejoining',
          {
            partition: p,
            error: type,
          },
        );
      }
      const denied = authorizationFailure(e, {
        operation: 'Write',
        resource: `topics ${[...byTopic.keys()].join(', ')} or transactional id ${config.appId}-${config.topics.input}-${p}`,
      });
      if (denied) throw denied;
      if (type && UNACCEPTABLE_RECORDS.has(type)) {
        throw new ProcessorError(
          'INVARIANT_VIOLATED',
          `the broker rejected our records for partition ${p}: ${type}`,
          {
            cause: e,
          },
        );
      }
      throw new ProcessorError('KAFKA_TRANSIENT', `transaction for partition ${p} failed`, {
        cause: e,
        context: { partition: p },
      });
    }
    metrics.transactions.inc({ outcome: 'committed' });
    for (const [userId, s] of plan.stateWrites) {
      if (s === null) task.states.delete(userId);
      else task.states.set(userId, s);
    }
    if (nextOffset !== null) task.nextOffset = nextOffset;
    metrics.processed.inc({ partition: String(p) }, plan.counts.processed);
    metrics.duplicates.inc(plan.counts.duplicates);
    metrics.late.inc(plan.counts.late);
    metrics.erased.inc(plan.counts.erased);
    metrics.timersFired.inc(plan.counts.timersFired);
    metrics.usersInState.set({ partition: String(p) }, task.states.size);
    metrics.watermarkMs.set({ partition: String(p) }, plan.watermarkMs);
  }

  /** Ordered stop: no new fetches, the in-flight batch finishes and commits, clients close. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.idleTimer) clearInterval(this.idleTimer);
    const errors: unknown[] = [];
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
 * kafkajs puts all messages of one partition in one record batch, and the broker rejects a batch
 * over max.message.bytes (1 MiB by default): a large chunk (e.g. 2,000 changelog writes) must go in
 * several requests. Order is kept (requests are sent one after the other, max in flight 1).
 */
const MAX_REQUEST_BYTES = 512 * 1024;

/** A newer producer with our transactional id exists: we are a zombie for this partition. */
const FENCED = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'INVALID_PRODUCER_ID_MAPPING']);

const UNACCEPTABLE_RECORDS = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
]);

export function splitBySize(topicMessages: readonly TopicMessages[], maxBytes: number): TopicMessages[][] {
  const requests: TopicMessages[][] = [];
  let current: TopicMessages[] = [];
  let bytes = 0;
  for (const { topic, messages } of topicMessages) {
    let group: Message[] = [];
    for (const m of messages) {
      const size = 64 + sizeOf(m.key) + sizeOf(m.value);
      if (bytes + size > maxBytes && bytes > 0) {
        if (group.length > 0) current.push({ topic, messages: group });
        requests.push(current);
        current = [];
        group = [];
        bytes = 0;
      }
      group.push(m);
      bytes += size;
    }
    if (group.length > 0) current.push({ topic, messages: group });
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

function sizeOf(v: Message['key'] | Message['value']): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'string' ? Buffer.byteLength(v) : v.length;
}

/** kafkajs does not retry CONCURRENT_TRANSACTIONS on AddOffsetsToTxn (kafkajs#430). */
async function retryConcurrent<T>(fn: () => Promise<T>): Promise<T> {
  let delay = 20;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const type = (e as { type?: string }).type;
      if (type !== 'CONCURRENT_TRANSACTIONS' || attempt >= 20) throw e;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(500, delay * 2);
    }
  }
}
