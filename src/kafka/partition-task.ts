/**
 * The per-partition unit of work: one input partition p, its transactional producer, its user
 * states and the topology instance that processes it.
 *
 * Opening a task runs in this order, and the order is the exactly-once argument:
 *   1. the producer with transactional id `<appId>-<inputTopic>-<p>` starts and aborts one empty
 *      transaction: InitProducerId bumps the epoch, which fences the previous owner and aborts
 *      its open transaction;
 *   2. only then changelog partition p is read to its end (nothing more can be added to it);
 *   3. the group's committed offset of p is where processing resumes.
 */
import type { Kafka, Producer } from 'kafkajs';
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
import { StateStore } from '../state/state-store';
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
  /** Changelog restore time, ms. */
  readonly restoreMs: number;
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
  const { config, kafka, metrics } = deps;
  const producer = kafka.producer({
    transactionalId: transactionalId(config, p),
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: config.kafka.transactionTimeoutMs,
  });
  await producer.connect();
  if (stopping()) {
    await producer.disconnect();
    throw new ProcessorError('KAFKA_TRANSIENT', `partition ${p} start abandoned: stopping`);
  }
  // kafkajs sends InitProducerId(transactionalId) lazily, at the first transaction().
  const fence = await producer.transaction();
  await fence.abort();
  const restored = await restorePartitions(
    kafka,
    config.topics.userStateChangelog,
    [p],
    deps.serde,
    config.appId,
    deps.logger,
  );
  const states = restored.states.get(p) ?? new StateStore();
  metrics.restoreDurationSeconds.observe(restored.durationMs / 1000);
  metrics.restoredUsers.inc(states.size);
  metrics.usersInState.set({ partition: String(p) }, states.size);
  const processor = new PartitionProcessor(states, {
    encoder: deps.encoder,
    manifest: deps.manifest,
    params: deps.params,
    profilesEnabled: config.profilesEnabled,
  });
  return {
    partition: p,
    producer,
    states,
    processor,
    nextOffset: await committedOffset(kafka, config, p),
    lock: Promise.resolve(),
    lastRecordWallMs: deps.clock.nowMs(),
    lastWatermarkMs: processor.watermarkMs,
    restoreMs: restored.durationMs,
  };
}

async function committedOffset(kafka: Kafka, config: Config, p: number): Promise<bigint> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const committed = await admin.fetchOffsets({ groupId: config.appId, topics: [config.topics.input] });
    const o = committed[0]?.partitions.find((x) => x.partition === p)?.offset;
    return o !== undefined && o !== '-1' ? BigInt(o) : -1n;
  } finally {
    await admin.disconnect();
  }
}
