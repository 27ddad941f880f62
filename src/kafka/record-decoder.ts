/**
 * Input record bytes → PipelineRecord: the one place that decides what a clickstream record is
 * (an event, a user erasure, or bad input with its code and stage). Used by the live processor
 * and by the system-test verifier's reference run, so both classify every record the same way.
 */
import type { KafkaMessage } from 'kafkajs';
import { ProcessorError, describeError, isProcessorError, isRetriable } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { Metrics } from '../shared/metrics';
import { withRetry } from '../shared/retry';
import type { ValidationLimits } from '../core/validate';
import { validateEvent } from '../core/validate';
import type { PipelineRecord } from '../pipeline/partition-processor';
import type { ClickstreamEvent } from './avro-types.gen';
import { ClickstreamEventSchema } from './avro-types.gen';
import type { AvroSerde } from './serde';
import { readerType } from './serde';

const inputReader = readerType<ClickstreamEvent>(ClickstreamEventSchema);

export interface DecodeDeps {
  readonly serde: AvroSerde;
  readonly limits: ValidationLimits;
  /** Key + value bytes above this are bad input (VALIDATE_OVERSIZE). */
  readonly maxRecordBytes: number;
}

/**
 * Classifies one record. Rejects (does not return) only when a dependency is unavailable
 * (a retriable ProcessorError, e.g. REGISTRY_UNAVAILABLE): that is not bad data, and the caller
 * must retry, never dead-letter.
 */
export async function decodeRecord(m: KafkaMessage, deps: DecodeDeps): Promise<PipelineRecord> {
  const known = decodeRecordIfKnown(m, deps);
  if (known) return known;
  try {
    // Only a value whose writer schema is not held yet gets here: fetch it, then classify.
    await deps.serde.fetchWriterOf(m.value);
  } catch (e) {
    if (isProcessorError(e) && e.isBadRecord)
      return { kind: 'invalid', offset: m.offset, error: e, stage: 'decode' };
    throw e;
  }
  const record = decodeRecordIfKnown(m, deps);
  if (!record)
    throw new ProcessorError('INVARIANT_VIOLATED', 'the writer schema was fetched but is not held');
  return record;
}

/**
 * decodeRecord without waiting: undefined when the value's writer schema has not been fetched
 * yet (decodeRecord fetches it). The live loop's path for nearly every record.
 */
export function decodeRecordIfKnown(m: KafkaMessage, deps: DecodeDeps): PipelineRecord | undefined {
  const offset = m.offset;
  const size = (m.key?.length ?? 0) + (m.value?.length ?? 0);
  if (size > deps.maxRecordBytes) {
    const error = new ProcessorError(
      'VALIDATE_OVERSIZE',
      `record has ${size} bytes, limit ${deps.maxRecordBytes}`,
    );
    return { kind: 'invalid', offset, error, stage: 'validate' };
  }
  const key = m.key?.toString('utf8') ?? null;
  if (m.value === null) {
    if (key?.includes('\u0000')) {
      // Reserved for the changelog checkpoint key: an erasure of it would drop the checkpoint.
      const error = new ProcessorError('VALIDATE_FIELD_INVALID', 'erase key contains a NUL character');
      return { kind: 'invalid', offset, error, stage: 'validate' };
    }
    if (key) return { kind: 'erase', offset, userId: key };
    return {
      kind: 'invalid',
      offset,
      error: new ProcessorError('DECODE_MISSING_VALUE', 'null value without a key'),
      stage: 'decode',
    };
  }
  let raw: ClickstreamEvent | undefined;
  try {
    raw = deps.serde.decodeIfKnown(m.value, inputReader);
  } catch (e) {
    if (isProcessorError(e) && e.isBadRecord) return { kind: 'invalid', offset, error: e, stage: 'decode' };
    throw e;
  }
  if (raw === undefined) return undefined;
  const v = validateEvent(raw, key, Number(m.timestamp), deps.limits);
  if (v.ok) return { kind: 'event', offset, event: v.event };
  return { kind: 'invalid', offset, error: new ProcessorError(v.code, v.message), stage: 'validate' };
}

export interface DecodeRetryHooks {
  /** False once the consumer is stopping or the batch is stale: stop retrying, rethrow. */
  readonly isRunning: () => boolean;
  /** Keeps the group membership alive while the registry is down. */
  readonly heartbeat: () => Promise<void>;
  /** Before each wait: logs and metrics. */
  readonly onRetry: (e: unknown, delayMs: number) => void;
}

/**
 * decodeRecord, retried with jittered backoff (0.1 s → 5 s) for as long as the dependency is
 * unavailable and the consumer runs: a registry outage pauses this partition, it never
 * dead-letters good records.
 */
export async function decodeRecordWithRetry(
  m: KafkaMessage,
  deps: DecodeDeps,
  hooks: DecodeRetryHooks,
): Promise<PipelineRecord> {
  // The common case decodes at once: no retry machinery per record on the hot path.
  let first: unknown;
  try {
    return await decodeRecord(m, deps);
  } catch (e) {
    if (!(isRetriable(e) && hooks.isRunning())) throw e;
    first = e;
  }
  return withRetry(
    async (attempt) => {
      if (attempt === 0) throw first; // the failure above: back off before the first retry
      await hooks.heartbeat();
      return decodeRecord(m, deps);
    },
    {
      initialDelayMs: 100,
      maxDelayMs: 5_000,
      maxRetries: Infinity,
      shouldRetry: (e) => isRetriable(e) && hooks.isRunning(),
      onRetry: (e, _attempt, delayMs) => hooks.onRetry(e, delayMs),
    },
  );
}

/**
 * The retry hooks of both decoding paths (the live loop and the replay after a restore): each wait
 * on the registry counts as a retry and as backpressure on the schema registry, and is logged.
 */
export function registryRetryHooks(o: {
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly partition: number;
  readonly during: 'processing' | 'replay';
  readonly isRunning: () => boolean;
  readonly heartbeat: () => Promise<void>;
}): DecodeRetryHooks {
  return {
    isRunning: o.isRunning,
    heartbeat: o.heartbeat,
    onRetry: (e, delayMs) => {
      o.metrics.retries.inc({ dependency: 'schema-registry' });
      o.metrics.backpressureSeconds.inc({ dependency: 'schema-registry' }, delayMs / 1000);
      o.logger.warn('schema registry unavailable; retrying', {
        partition: o.partition,
        during: o.during,
        delayMs,
        error: describeError(e),
      });
    },
  };
}
