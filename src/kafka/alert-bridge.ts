/**
 * The consumer side of `interest-drift alert-bridge`: tails the churn topic (read_committed,
 * consumer group `<appId>.alert-bridge`) and hands each ChurnRisk to `apply`, in order per
 * partition. At-least-once: an offset is committed only after `apply` succeeded for it, so a
 * crash replays records, which `apply` must tolerate (alert identities are idempotent). A
 * retriable failure of `apply` (the Alertmanager is down) is retried with jittered backoff while
 * heartbeating; a fatal one stops the bridge. A record that does not decode (bad bytes, a schema id
 * the registry does not know) goes, untouched, to the bridge's dead-letter topic with the reason in
 * the headers of schemas/dead-letter-headers.json (stage `alert-bridge`), and the bridge goes on; a
 * crash between that send and the offset commit sends it again (at-least-once, as the alerts: the
 * `dlq.source.*` headers tell repeats apart). A retriable decode failure (the registry is down) is
 * retried; a fatal one (the registry refuses our credentials) or any other error (a bug) stops
 * the bridge.
 */
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { Config } from '../shared/config';
import { ProcessorError } from '../shared/errors';
import { describeError, isProcessorError, isRetriable } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { AlertBridgeMetrics } from '../shared/metrics';
import { withRetry } from '../shared/retry';
import type { ChurnRisk } from './avro-types.gen';
import { deadLetterMessage } from './dead-letter';
import { stopsService } from './failure-policy';
import { compressionFor } from './record-size';
import { churnReader } from './output-reader';
import type { AvroSerde } from './serde';

/** The largest magnitude a JavaScript Date holds, ms from the epoch (ECMA-262 §21.4.1.1). */
const MAX_DATE_MS = 8.64e15;

/** The longest alert id the bridge looks up in Alertmanager (the service's are 32 characters). */
const MAX_ALERT_ID_LENGTH = 256;

/**
 * Why a decoded churn record cannot become an alert, or null when it can: a time no Date holds
 * (toISOString would throw, on every retry), or an alert id Alertmanager cannot be asked about
 * (empty, too long, a control character). The service never writes such a record; another writer
 * of the topic may. The bridge dead-letters it.
 */
export function churnRecordProblem(r: ChurnRisk): ProcessorError | null {
  for (const [field, ms] of [
    ['scoredAtEventTimeMs', r.scoredAtEventTimeMs],
    ['lastEventTimeMs', r.lastEventTimeMs],
  ] as const) {
    if (!(Math.abs(ms) <= MAX_DATE_MS)) {
      return new ProcessorError('VALIDATE_TIMESTAMP_OUT_OF_RANGE', `${field} is outside the range of a date`);
    }
  }
  for (const [field, id] of [
    ['alertId', r.alertId],
    ['replacesAlertId', r.replacesAlertId ?? 'none'],
  ] as const) {
    // Ours are 32 hex characters. Alertmanager refuses a matcher with a control character (400,
    // ALERT_REJECTED: the bridge would stop at every restart) and a very long URL (414, 431).
    if (id === '' || id.length > MAX_ALERT_ID_LENGTH || /\p{Cc}/u.test(id)) {
      return new ProcessorError(
        'VALIDATE_FIELD_INVALID',
        `${field} is empty, longer than ${MAX_ALERT_ID_LENGTH} characters or holds a control character`,
      );
    }
  }
  return null;
}

export interface AlertBridge {
  /** Resolves when the bridge stops; rejects with the fatal error that stopped it. */
  readonly done: Promise<void>;
  /** Wall-clock ms of the consumer's last fetch or heartbeat (0 = none yet): liveness. */
  readonly lastTurnMs: number;
  /** Whether the consumer has joined its group and is not stopping: readiness. */
  readonly joined: boolean;
  stop(): Promise<void>;
}

export function alertBridgeGroup(config: Config): string {
  return `${config.appId}.alert-bridge`;
}

export async function startAlertBridge(
  kafka: Kafka,
  serde: AvroSerde,
  config: Config,
  apply: (record: ChurnRisk) => Promise<void>,
  logger: Logger,
  metrics?: AlertBridgeMetrics,
): Promise<AlertBridge> {
  const log = logger.child('alert-bridge');
  let stopping = false;
  let lastTurnMs = 0;
  let joined = false;
  let fail: (e: unknown) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  const consumer = kafka.consumer({
    groupId: alertBridgeGroup(config),
    readUncommitted: false,
    sessionTimeout: config.kafka.sessionTimeoutMs,
    heartbeatInterval: config.kafka.heartbeatIntervalMs,
  });
  // A crash kafkajs does not restart from (an error it does not know as retriable, such as a bug's
  // TypeError out of `apply`) stops the consumer for good: the bridge stops with it, loudly,
  // instead of living on without delivering anything.
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart || stopping) return;
    log.error('alert bridge consumer crashed; stopping', { error: describeError(payload.error) });
    fail(payload.error);
  });
  const turned = (): void => void (lastTurnMs = Date.now());
  consumer.on(consumer.events.FETCH_START, turned);
  consumer.on(consumer.events.HEARTBEAT, turned);
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joined = true;
    turned();
  });
  // Dead letters only: idempotent, so a retried send does not write one twice.
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic: config.topics.churn, fromBeginning: true });
  const retrying = {
    initialDelayMs: 200,
    maxDelayMs: 10_000,
    maxRetries: Infinity,
  };
  /**
   * The record, decoded; or null once it is in the dead-letter topic (it does not decode, or
   * cannot become an alert). A registry outage is waited out here, heartbeating: thrown to
   * kafkajs, it crashed the consumer, left and rejoined the group about every 10 s.
   */
  const decodeOrDeadLetter = async (
    m: KafkaMessage,
    topic: string,
    partition: number,
    heartbeat: () => Promise<void>,
  ): Promise<ChurnRisk | null> => {
    try {
      // A null value too: no writer of this topic means it (DECODE_MISSING_VALUE).
      const decoded = await withRetry(
        async (attempt) => {
          if (attempt > 0) await heartbeat();
          return serde.decode(m.value, churnReader);
        },
        {
          ...retrying,
          shouldRetry: (e) => isRetriable(e) && !stopping,
          onRetry: (e, _n, delayMs) =>
            log.warn('churn record decoding failed; retrying', { delayMs, error: describeError(e) }),
        },
      );
      const problem = churnRecordProblem(decoded);
      if (problem) throw problem;
      return decoded;
    } catch (e) {
      if (!(isProcessorError(e) && e.isBadRecord)) {
        // A bug, or the registry refusing our credentials, stops the bridge (kafkajs would restart
        // on it for ever); a retriable error met while stopping, or a rebalance met while
        // heartbeating, goes back to kafkajs.
        if (stopsService(e) && !stopping) {
          log.error('churn record decoding failed; stopping', { error: describeError(e) });
          fail(e);
        }
        throw e;
      }
      const letter = deadLetterMessage(m, e, 'alert-bridge', {
        sourceTopic: topic,
        partition,
        appId: config.appId,
        // Unknown: the model version is inside the record that did not decode.
        modelVersion: '-',
        nowMs: Date.now(),
      });
      await producer.send({
        topic: config.topics.alertBridgeDeadLetter,
        acks: -1,
        messages: [letter],
        // As the service sends its own (commitTransaction); deadLetterMessage kept it whole only if
        // it fits gzipped.
        ...compressionFor(letter),
      });
      metrics?.records.inc({ outcome: 'undecodable' });
      log.error('churn record does not decode or cannot become an alert; sent to the dead-letter topic', {
        partition,
        offset: m.offset,
        topic: config.topics.alertBridgeDeadLetter,
        error: describeError(e),
      });
      return null;
    }
  };
  /** Applies `r` to the Alertmanager(s), retrying while they are unavailable; a refusal stops the bridge. */
  const deliver = async (r: ChurnRisk, heartbeat: () => Promise<void>): Promise<void> => {
    try {
      await withRetry(
        async (attempt) => {
          if (attempt > 0) await heartbeat();
          await apply(r);
        },
        {
          ...retrying,
          shouldRetry: (e) => {
            // Only the Alertmanager's answers: a bug, or a rebalance met while heartbeating
            // between attempts, is not a delivery failure.
            if (isProcessorError(e)) metrics?.deliveryFailures.inc({ code: e.code });
            return isRetriable(e) && !stopping;
          },
          onRetry: (e, _n, delayMs) =>
            log.warn('alert delivery failed; retrying', { delayMs, error: describeError(e) }),
        },
      );
      metrics?.records.inc({ outcome: 'delivered' });
    } catch (e) {
      if (!stopping && stopsService(e)) {
        log.error('alert delivery refused; stopping', { error: describeError(e) });
        fail(e);
      }
      throw e;
    }
  };
  await consumer.run({
    autoCommit: true,
    eachBatchAutoResolve: false,
    eachBatch: async (payload) => {
      const { batch } = payload;
      const heartbeat = (): Promise<void> => payload.heartbeat();
      const partition = String(batch.partition);
      // Records from the batch's first to the partition's end, as the broker reported at this fetch.
      metrics?.lag.set({ partition }, batch.isEmpty() ? 0 : Number(batch.offsetLagLow()) + 1);
      for (const m of batch.messages) {
        if (!payload.isRunning() || payload.isStale()) return;
        const record = await decodeOrDeadLetter(m, batch.topic, batch.partition, heartbeat);
        if (record) await deliver(record, heartbeat);
        payload.resolveOffset(m.offset);
        // Records after this one, as far as the fetch knew: the gauge moves record by record, so a
        // slow batch shows as a slowly falling lag, not a flat one.
        metrics?.lag.set({ partition }, Number(BigInt(batch.highWatermark) - BigInt(m.offset) - 1n));
        await heartbeat();
      }
      await payload.commitOffsetsIfNecessary();
    },
  });
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    joined = false;
    await consumer.stop().catch(() => undefined);
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
  };
  let stopped: () => void = () => undefined;
  const stoppedP = new Promise<void>((r) => (stopped = r));
  const done = Promise.race([stoppedP, failed]).finally(() => void stop());
  return {
    done,
    get lastTurnMs() {
      return lastTurnMs;
    },
    get joined() {
      return joined;
    },
    stop: async () => {
      await stop();
      stopped();
    },
  };
}
