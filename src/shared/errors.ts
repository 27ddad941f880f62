/**
 * The one error root of the service (STYLE.md §4, §5).
 *
 * Every error the service raises on purpose is a ProcessorError with a stable `code` from the
 * closed list below, a `retriable` flag and an optional `cause`. Recognise one with
 * isProcessorError() (a brand, so it survives worker_threads and duplicated packages), never
 * with instanceof.
 *
 * The code decides the failure class (see pipeline/failure-policy.ts):
 *   bad record   → dead-letter topic, processing continues       (DECODE_*, VALIDATE_*)
 *   transient    → retry with backoff, pause input               (retriable: true)
 *   bug / config → crash loudly                                  (everything else)
 */

export const ErrorCodes = {
  /** Configuration is invalid; the message lists every problem at once. */
  CONFIG_INVALID: { retriable: false, badRecord: false },
  /** Record value is not in Confluent wire format (missing or wrong magic byte, too short). */
  DECODE_BAD_MAGIC: { retriable: false, badRecord: true },
  /** The registry does not know the schema id in the record header. */
  DECODE_UNKNOWN_SCHEMA_ID: { retriable: false, badRecord: true },
  /** The bytes after the header do not decode with the writer schema (truncated, wrong types). */
  DECODE_AVRO_INVALID: { retriable: false, badRecord: true },
  /** The writer schema cannot be resolved into the service's reader schema. */
  DECODE_SCHEMA_INCOMPATIBLE: { retriable: false, badRecord: true },
  /** The record value is null where a value is required, or the key is missing. */
  DECODE_MISSING_VALUE: { retriable: false, badRecord: true },
  /** Record bytes exceed the configured maximum size. */
  VALIDATE_OVERSIZE: { retriable: false, badRecord: true },
  /** A required field is empty or malformed (e.g. empty user id, key ≠ userId). */
  VALIDATE_FIELD_INVALID: { retriable: false, badRecord: true },
  /** Event type the service does not know (e.g. UNKNOWN from a newer writer). */
  VALIDATE_UNKNOWN_EVENT_TYPE: { retriable: false, badRecord: true },
  /** Event time too far in the future or before the accepted past bound. */
  VALIDATE_TIMESTAMP_OUT_OF_RANGE: { retriable: false, badRecord: true },
  /** The schema registry could not be reached or answered with a server error. */
  REGISTRY_UNAVAILABLE: { retriable: true, badRecord: false },
  /** A Kafka operation failed in a way the client marks retriable. */
  KAFKA_TRANSIENT: { retriable: true, badRecord: false },
  /** Kafka rejected the client's credentials (SASL): wrong user name, password or mechanism. */
  KAFKA_AUTHENTICATION_FAILED: { retriable: false, badRecord: false },
  /**
   * Kafka refused an operation for lack of an ACL; the message names the resource and the
   * operation the service needs (a deployment error: retrying cannot help).
   */
  KAFKA_AUTHORIZATION_FAILED: { retriable: false, badRecord: false },
  /** This instance's transactional producer was fenced by a newer owner of the partition. */
  KAFKA_FENCED: { retriable: false, badRecord: false },
  /** Encoding an output record with its schema failed: an output the code built is invalid (a bug). */
  ENCODE_INVALID_OUTPUT: { retriable: false, badRecord: false },
  /** The ONNX model or its metadata is missing, malformed or does not match the runtime. */
  MODEL_INVALID: { retriable: false, badRecord: false },
  /** Inputs handed to the encoder do not match the session's inputs (names, shapes, dtypes). */
  MODEL_FEED_INVALID: { retriable: false, badRecord: false },
  /** An execution provider could not be created. */
  MODEL_PROVIDER_UNAVAILABLE: { retriable: false, badRecord: false },
  /** An internal invariant was broken: a bug. */
  INVARIANT_VIOLATED: { retriable: false, badRecord: false },
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
  readonly context: ErrorContext;
  readonly [BRAND] = true;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; context?: ErrorContext } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProcessorError';
    this.code = code;
    this.retriable = ErrorCodes[code].retriable;
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

/** A short, data-free description of any thrown value, for logs. */
export function describeError(e: unknown, depth = 0): string {
  const cause = (e as { cause?: unknown } | null)?.cause;
  const tail =
    cause !== undefined && cause !== e && depth < 3 ? ` (cause: ${describeError(cause, depth + 1)})` : '';
  if (isProcessorError(e)) return `${e.code}: ${e.message}${tail}`;
  if (e instanceof Error) return `${e.name}: ${e.message}${tail}`;
  return String(e);
}
