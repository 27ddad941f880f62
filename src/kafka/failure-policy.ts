/**
 * The Kafka side of the failure policy (STYLE.md §5): which kafkajs errors are transient, which
 * mean a newer owner fenced us, which are a missing permission and which are our bug. Every
 * Kafka failure the processor sees is mapped here to a ProcessorError, whose flags then decide:
 * retry (and rejoin), or crash loudly. Bad records never reach this module: the decoder
 * dead-letters them.
 */
import { ProcessorError, isFatal, isProcessorError } from '../shared/errors';
import { withRetry } from '../shared/retry';

/** Kafka ACL operations the service uses. */
export type KafkaOperation = 'Read' | 'Write' | 'Describe' | 'IdempotentWrite';

const AUTHZ_TYPES = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
]);

/** The kafkajs protocol error type (e.g. TOPIC_AUTHORIZATION_FAILED) anywhere in the cause chain. */
export function kafkaErrorType(e: unknown): string | null {
  for (let c: unknown = e, depth = 0; c && typeof c === 'object' && depth < 5; depth++) {
    const type = (c as { type?: unknown }).type;
    if (typeof type === 'string') return type;
    c = (c as { cause?: unknown }).cause;
  }
  return null;
}

/**
 * Maps a kafkajs authorization failure to a non-retriable ProcessorError that names the resource
 * and the operation that was refused; `attempted` says what the caller was doing (e.g.
 * `{ operation: 'Write', resource: 'topic interest.migrations' }`). Returns null for any other
 * error, so callers can `throw authorizationFailure(e, …) ?? e`.
 */
export function authorizationFailure(
  e: unknown,
  attempted: { readonly operation: KafkaOperation; readonly resource: string },
): ProcessorError | null {
  const type = kafkaErrorType(e);
  if (type === null || !AUTHZ_TYPES.has(type)) return null;
  return new ProcessorError(
    'KAFKA_AUTHORIZATION_FAILED',
    `Kafka denied ${attempted.operation} on ${attempted.resource} (${type}): grant it to the service's KafkaUser`,
    { cause: e, context: { kafkaError: type } },
  );
}

/** A newer producer with our transactional id exists: we are a zombie for this partition. */
const FENCED = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'INVALID_PRODUCER_ID_MAPPING']);

/** Records the broker can never accept: retrying the same chunk would loop forever. */
const UNACCEPTABLE_RECORDS = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
]);

/** kafkajs errors that mean "no broker answered": a broker down, restarting or hung. */
const UNREACHABLE = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNumberOfRetriesExceeded',
]);

/**
 * True when the cluster could not be reached at all (as opposed to a refusal): kafkajs gave up
 * after its own retries on a connection error, a timeout or no broker. A transient dependency,
 * so the service waits with backoff (at start) instead of exiting.
 */
export function isKafkaUnreachable(e: unknown): boolean {
  for (let c = e as { name?: unknown; cause?: unknown } | null, depth = 0; c && depth < 5; depth++) {
    if (typeof c.name === 'string' && UNREACHABLE.has(c.name)) {
      return kafkaErrorType(e) === null; // an error with a protocol type is an answer, not silence
    }
    c = c.cause as { name?: unknown; cause?: unknown } | null;
  }
  return false;
}

/**
 * True when `e`, thrown by the processing path, must stop the service (failure class 'crash',
 * STYLE.md §5): a fatal ProcessorError, or a throw that is neither a ProcessorError nor a kafkajs
 * error (a TypeError, a library's raw error), i.e. a bug. kafkajs' consumer retries and restarts
 * on any error it is handed, so without this a bug would loop for ever behind a live process.
 */
export function stopsService(e: unknown): boolean {
  return isFatal(e) || (!isProcessorError(e) && !isKafkaJSError(e));
}

/**
 * An error kafkajs threw. By name, as kafkajs names each of its classes (`KafkaJS…`): an
 * `instanceof` would miss errors from a second copy of kafkajs in node_modules.
 */
function isKafkaJSError(e: unknown): boolean {
  const name = (e as { name?: unknown } | null)?.name;
  return typeof name === 'string' && name.startsWith('KafkaJS');
}

/**
 * Runs `fn`, a start-up step that needs Kafka (the service's topic set-up and access check, the
 * bridge's access check), until it succeeds: while no broker answers and `keepWaiting()` holds,
 * it waits with jittered backoff (1 s, growing to 15 s apart) and tries again; any other failure,
 * a refusal above all, is thrown at once.
 */
export function untilKafkaAnswers<T>(
  fn: () => Promise<T>,
  keepWaiting: () => boolean,
  onRetry: (e: unknown, delayMs: number) => void,
): Promise<T> {
  return withRetry(fn, {
    initialDelayMs: 1_000,
    maxDelayMs: 15_000,
    maxRetries: Infinity,
    shouldRetry: (e) => keepWaiting() && isKafkaUnreachable(e),
    onRetry: (e, _attempt, delayMs) => onRetry(e, delayMs),
  });
}

/**
 * A fatal ProcessorError anywhere in the cause chain: one our code threw inside a kafkajs
 * callback (a restore's onBatch), which kafkajs wrapped in its own errors. No retry cures it.
 */
export function fatalCause(e: unknown): ProcessorError | null {
  for (let c: unknown = e, depth = 0; c && typeof c === 'object' && depth < 5; depth++) {
    if (isProcessorError(c) && c.fatal) return c;
    c = (c as { cause?: unknown }).cause;
  }
  return null;
}

/**
 * The error for a read of a topic (readToEnd) whose consumer crashed or did not finish: a fatal
 * error our own callback threw inside it keeps its code (retrying the read meets it again), a
 * throw that is neither ours nor kafkajs' is a bug (INVARIANT_VIOLATED), and anything else is
 * transient.
 */
export function readFailure(failure: unknown, message: string): ProcessorError {
  const fatal = fatalCause(failure);
  if (fatal) return new ProcessorError(fatal.code, `${message}: ${fatal.message}`, { cause: failure });
  if (failure !== null && failure !== undefined && stopsService(failure)) {
    return new ProcessorError('INVARIANT_VIOLATED', `${message}: a bug`, { cause: failure });
  }
  return new ProcessorError('KAFKA_TRANSIENT', message, { cause: failure ?? undefined });
}

/** kafkajs marks the errors a retry may cure (leader moved, coordinator loading, timeouts). */
export function isKafkaRetriable(e: unknown): boolean {
  return (e as { retriable?: unknown } | null)?.retriable === true;
}

/** kafkajs does not retry CONCURRENT_TRANSACTIONS on AddOffsetsToTxn (kafkajs#430): we do. */
export function isConcurrentTransactions(e: unknown): boolean {
  return kafkaErrorType(e) === 'CONCURRENT_TRANSACTIONS';
}

/**
 * Maps a failed transaction of input partition `partition` to the ProcessorError that decides
 * what happens next: a missing permission, records the broker refuses and a throw that is not
 * kafkajs' (our bug while building the requests) are fatal; a fenced producer and any other
 * kafkajs error are retriable (drop the partition, rejoin, restore, go on from the committed
 * offset).
 */
export function transactionFailure(
  e: unknown,
  partition: number,
  attempted: { readonly resource: string },
): ProcessorError {
  const denied = authorizationFailure(e, { operation: 'Write', resource: attempted.resource });
  if (denied) return denied;
  if (isProcessorError(e)) return e;
  if (!isKafkaJSError(e)) {
    // Retried, the same input would meet the same bug again, behind a live process.
    return new ProcessorError(
      'INVARIANT_VIOLATED',
      `the transaction for partition ${partition} failed on an error that is not Kafka's (a bug)`,
      { cause: e },
    );
  }
  const type = kafkaErrorType(e);
  if (type && UNACCEPTABLE_RECORDS.has(type)) {
    return new ProcessorError(
      'INVARIANT_VIOLATED',
      `the broker rejected our records for partition ${partition}: ${type}`,
      { cause: e },
    );
  }
  if (type && FENCED.has(type)) {
    return new ProcessorError(
      'KAFKA_FENCED',
      `producer for partition ${partition} fenced: another instance owns it now`,
      { cause: e, context: { partition, kafkaError: type } },
    );
  }
  return new ProcessorError('KAFKA_TRANSIENT', `transaction for partition ${partition} failed`, {
    cause: e,
    context: { partition },
  });
}
