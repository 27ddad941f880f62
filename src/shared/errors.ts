/**
 * The one error root of the service (STYLE.md §4, §5).
 *
 * Every error the service raises on purpose is a ProcessorError with a stable `code` from the
 * closed list below, a `retriable` flag and an optional `cause`. Recognise one with
 * isProcessorError() (a brand, so it survives worker_threads and duplicated packages), never
 * with instanceof.
 *
 * The code decides the failure class (failureClass() below; the Kafka specifics are in
 * kafka/failure-policy.ts):
 *   bad record   → dead-letter topic, processing continues       (badRecord: true)
 *   transient    → retry with jittered backoff, pause input      (retriable: true)
 *   bug / config → crash loudly, never retried                   (fatal: true)
 * Exactly one of the three flags is true for every code.
 */

export const ErrorCodes = {
  /** Configuration is invalid; the message lists every problem at once. */
  CONFIG_INVALID: { retriable: false, badRecord: false, fatal: true },
  /** Record value is not in Confluent wire format (missing or wrong magic byte, too short). */
  DECODE_BAD_MAGIC: { retriable: false, badRecord: true, fatal: false },
  /** The registry does not know the schema id in the record header. */
  DECODE_UNKNOWN_SCHEMA_ID: { retriable: false, badRecord: true, fatal: false },
  /** The bytes after the header do not decode with the writer schema (truncated, wrong types). */
  DECODE_AVRO_INVALID: { retriable: false, badRecord: true, fatal: false },
  /** The writer schema cannot be resolved into the service's reader schema. */
  DECODE_SCHEMA_INCOMPATIBLE: { retriable: false, badRecord: true, fatal: false },
  /** The record value is null where a value is required, or the key is missing. */
  DECODE_MISSING_VALUE: { retriable: false, badRecord: true, fatal: false },
  /** Record bytes exceed the configured maximum size. */
  VALIDATE_OVERSIZE: { retriable: false, badRecord: true, fatal: false },
  /** A required field is empty or malformed (e.g. empty user id, key ≠ userId). */
  VALIDATE_FIELD_INVALID: { retriable: false, badRecord: true, fatal: false },
  /** Event type the service does not know (e.g. UNKNOWN from a newer writer). */
  VALIDATE_UNKNOWN_EVENT_TYPE: { retriable: false, badRecord: true, fatal: false },
  /**
   * Event time behind the partition watermark by more than the allowed lateness: the record goes
   * to the late-events topic (not the dead-letter topic) with the watermark in its headers.
   */
  EVENT_LATE: { retriable: false, badRecord: true, fatal: false },
  /** Event time too far in the future or before the accepted past bound. */
  VALIDATE_TIMESTAMP_OUT_OF_RANGE: { retriable: false, badRecord: true, fatal: false },
  /**
   * The schema registry refused our credentials or permissions (HTTP 401/403): a deployment error,
   * so the service stops with it instead of waiting for ever as for an outage.
   */
  REGISTRY_AUTH_FAILED: { retriable: false, badRecord: false, fatal: true },
  /**
   * The schema registry refused a schema the service registers as incompatible with its subject's
   * history (HTTP 409/422): a release or deployment error (an output contract would break), not
   * an outage, so the service stops with it.
   */
  REGISTRY_SCHEMA_REJECTED: { retriable: false, badRecord: false, fatal: true },
  /** The schema registry could not be reached or answered with a server error. */
  REGISTRY_UNAVAILABLE: { retriable: true, badRecord: false, fatal: false },
  /** A Kafka operation failed in a way the client marks retriable. */
  KAFKA_TRANSIENT: { retriable: true, badRecord: false, fatal: false },
  /** Kafka rejected the client's credentials (SASL): wrong user name, password or mechanism. */
  KAFKA_AUTHENTICATION_FAILED: { retriable: false, badRecord: false, fatal: true },
  /**
   * Kafka refused an operation for lack of an ACL; the message names the resource and the
   * operation the service needs (a deployment error: retrying cannot help).
   */
  KAFKA_AUTHORIZATION_FAILED: { retriable: false, badRecord: false, fatal: true },
  /**
   * This instance's transactional producer was fenced by a newer owner of the partition: the
   * partition is dropped and the consumer rejoins (retriable: a restart recovers, nothing is lost).
   */
  KAFKA_FENCED: { retriable: true, badRecord: false, fatal: false },
  /**
   * The Kafka consumer crashed with an error kafkajs does not retry, so it will not restart by
   * itself: the service stops (exit 1) for its supervisor to restart it, instead of idling.
   */
  KAFKA_CONSUMER_CRASHED: { retriable: false, badRecord: false, fatal: true },
  /**
   * A topic a component cannot work without does not exist (alert-bridge: the churn topic or its
   * dead-letter topic): a deployment error, reported at start with every missing topic named.
   */
  KAFKA_TOPIC_MISSING: { retriable: false, badRecord: false, fatal: true },
  /**
   * A topic written partition by partition (the changelog, the dead-letter and late topics: input
   * partition p → partition p) has fewer partitions than the topic it follows. kafkajs drops, without
   * an error, a message for a partition its metadata lacks, so the states and dead letters of the
   * higher partitions would be lost: reported at start, with every such topic named.
   */
  KAFKA_TOPIC_UNDERPARTITIONED: { retriable: false, badRecord: false, fatal: true },
  /** The Alertmanager could not be reached or answered with a server error (alert-bridge). */
  ALERTMANAGER_UNAVAILABLE: { retriable: true, badRecord: false, fatal: false },
  /**
   * The Alertmanager refused our credentials or permissions (HTTP 401/403, or 407 from a proxy) or
   * has no v2 alerts API at IDRIFT_ALERTMANAGER_URL (404, 405): a deployment error (alert-bridge).
   */
  ALERTMANAGER_ACCESS_FAILED: { retriable: false, badRecord: false, fatal: true },
  /** The Alertmanager refused an alert as invalid (another HTTP 4xx): the bridge built a bad alert (a bug). */
  ALERT_REJECTED: { retriable: false, badRecord: false, fatal: true },
  /** Encoding an output record with its schema failed: an output the code built is invalid (a bug). */
  ENCODE_INVALID_OUTPUT: { retriable: false, badRecord: false, fatal: true },
  /** The ONNX model or its metadata is missing, malformed or does not match the runtime. */
  MODEL_INVALID: { retriable: false, badRecord: false, fatal: true },
  /** Inputs handed to the encoder do not match the session's inputs (names, shapes, dtypes). */
  MODEL_FEED_INVALID: { retriable: false, badRecord: false, fatal: true },
  /** An execution provider could not be created. */
  MODEL_PROVIDER_UNAVAILABLE: { retriable: false, badRecord: false, fatal: true },
  /** An internal invariant was broken: a bug. */
  INVARIANT_VIOLATED: { retriable: false, badRecord: false, fatal: true },
  /**
   * A changelog partition holds users whose latest state value no version of the service reads
   * (written by a newer release, or corrupt): restore stops instead of dropping them unasked.
   * `interest-drift changelog check` lists them and can tombstone them.
   */
  CHANGELOG_UNREADABLE: { retriable: false, badRecord: false, fatal: true },
  /**
   * The group's committed offset of an input partition is behind the offset its changelog
   * checkpoint says the restored states already hold: the group's offsets were reset while the
   * changelog was kept. Processing on would apply those events a second time and emit their
   * outputs again, so the service stops instead. Reprocess with a new IDRIFT_APP_ID
   * (k8s/README.md, "Replay and backfill"), or move the offsets forward to the checkpoint.
   */
  OFFSETS_BEHIND_STATE: { retriable: false, badRecord: false, fatal: true },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

const BRAND = Symbol.for('interest-drift.ProcessorError');

/** Typed, non-personal context attached to an error (topic, partition, offset, shapes…). */
export type ErrorContext = Readonly<
  Record<string, string | number | boolean | readonly number[] | undefined>
>;

export class ProcessorError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  /** A bug, a configuration or a permission error: the process must crash, not retry. */
  readonly fatal: boolean;
  readonly context: ErrorContext;
  readonly [BRAND] = true;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; context?: ErrorContext } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProcessorError';
    this.code = code;
    this.retriable = ErrorCodes[code].retriable;
    this.fatal = ErrorCodes[code].fatal;
    this.context = options.context ?? {};
  }

  /** True when the record that caused this error belongs in the dead-letter topic. */
  get isBadRecord(): boolean {
    return ErrorCodes[this.code].badRecord;
  }
}

export function isProcessorError(e: unknown): e is ProcessorError {
  return typeof e === 'object' && e !== null && (e as { [BRAND]?: unknown })[BRAND] === true;
}

export type FailureClass = 'dead-letter' | 'retry' | 'crash';

/**
 * The failure class of any thrown value (STYLE.md §5). Anything that is not a ProcessorError is
 * an unexpected throw, i.e. a bug: crash. Adapters map their dependencies' errors into
 * ProcessorErrors first (kafka/failure-policy.ts, kafka/serde.ts).
 */
export function failureClass(e: unknown): FailureClass {
  if (!isProcessorError(e)) return 'crash';
  if (e.isBadRecord) return 'dead-letter';
  return e.retriable ? 'retry' : 'crash';
}

/** A ProcessorError marked retriable: the dependency may recover. */
export function isRetriable(e: unknown): boolean {
  return isProcessorError(e) && e.retriable;
}

/** A ProcessorError marked fatal: a bug, config or permission error. */
export function isFatal(e: unknown): boolean {
  return isProcessorError(e) && e.fatal;
}

/** A short, data-free description of any thrown value, for logs. */
export function describeError(e: unknown, depth = 0): string {
  const cause = (e as { cause?: unknown } | null)?.cause;
  const tail =
    cause !== undefined && cause !== e && depth < 3 ? ` (cause: ${describeError(cause, depth + 1)})` : '';
  if (isProcessorError(e)) return `${e.code}: ${e.message}${tail}`;
  if (e instanceof Error) return `${e.name}: ${e.message}${tail}`;
  return String(e);
}
