import { KafkaJSConnectionError, KafkaJSProtocolError } from 'kafkajs';
import { ProcessorError } from '../../../src/shared/errors';
import {
  authorizationFailure,
  fatalCause,
  isConcurrentTransactions,
  isKafkaRetriable,
  isKafkaUnreachable,
  kafkaErrorType,
  readFailure,
  stopsService,
  transactionFailure,
} from '../../../src/kafka/failure-policy';

/** The shape kafkajs gives protocol errors: a `type`, a `retriable` flag, wrapped in causes. */
const kafkaError = (type: string, retriable = false): Error =>
  Object.assign(new Error(type), { type, retriable, name: 'KafkaJSProtocolError' });
const wrapped = (cause: Error): Error => Object.assign(new Error('wrapped'), { cause });

describe('Kafka failure policy', () => {
  it('finds the protocol error type anywhere in the cause chain', () => {
    expect(kafkaErrorType(wrapped(wrapped(kafkaError('PRODUCER_FENCED'))))).toBe('PRODUCER_FENCED');
    expect(kafkaErrorType(new Error('plain'))).toBeNull();
  });

  it('finds our own fatal error inside the errors kafkajs wrapped it in, and only a fatal one', () => {
    const bug = new ProcessorError('INVARIANT_VIOLATED', 'changelog value of unknown format');
    // kafkajs' retrier: new KafkaJSNonRetriableError(e, { cause: e.cause || e })
    expect(fatalCause(wrapped(wrapped(bug)))).toBe(bug);
    expect(fatalCause(wrapped(new ProcessorError('REGISTRY_UNAVAILABLE', 'down')))).toBeNull();
    expect(fatalCause(wrapped(kafkaError('REQUEST_TIMED_OUT', true)))).toBeNull();
    const cycle: { cause?: unknown } = {};
    cycle.cause = cycle;
    expect(fatalCause(cycle)).toBeNull();
  });

  it('fails a read of a topic as transient, unless our own callback threw a fatal error inside it', () => {
    const bug = new ProcessorError('INVARIANT_VIOLATED', 'changelog value of unknown format');
    expect(readFailure(wrapped(wrapped(bug)), 'restore of partitions 0')).toMatchObject({
      code: 'INVARIANT_VIOLATED',
      fatal: true,
      message: 'restore of partitions 0: changelog value of unknown format',
    });
    const retriesExceeded = Object.assign(wrapped(kafkaError('REQUEST_TIMED_OUT', true)), {
      name: 'KafkaJSNumberOfRetriesExceeded',
    });
    expect(readFailure(retriesExceeded, 'restore')).toMatchObject({
      code: 'KAFKA_TRANSIENT',
      retriable: true,
      message: 'restore',
    });
    // A throw that is neither ours nor kafkajs': a bug, not a hiccup to retry for ever.
    expect(readFailure(new TypeError('x is undefined'), 'restore')).toMatchObject({
      code: 'INVARIANT_VIOLATED',
      fatal: true,
    });
    // A read that stalled without a crash has no failure at all.
    expect(readFailure(null, 'replay')).toMatchObject({ code: 'KAFKA_TRANSIENT', retriable: true });
  });

  it('maps a failed transaction to fenced, transient, permission or bug', () => {
    const resource = { resource: 'topic interest.migrations' };
    expect(transactionFailure(kafkaError('INVALID_PRODUCER_EPOCH'), 3, resource)).toMatchObject({
      code: 'KAFKA_FENCED',
      retriable: true,
      fatal: false,
    });
    expect(transactionFailure(kafkaError('REQUEST_TIMED_OUT', true), 3, resource)).toMatchObject({
      code: 'KAFKA_TRANSIENT',
      retriable: true,
    });
    const denied = transactionFailure(wrapped(kafkaError('TOPIC_AUTHORIZATION_FAILED')), 3, resource);
    expect(denied).toMatchObject({ code: 'KAFKA_AUTHORIZATION_FAILED', fatal: true });
    expect(denied.message).toMatch(/Write on topic interest\.migrations/);
    expect(transactionFailure(kafkaError('MESSAGE_TOO_LARGE'), 3, resource)).toMatchObject({
      code: 'INVARIANT_VIOLATED',
      fatal: true,
    });
    // kafkajs' own classes, not only their shape.
    expect(transactionFailure(new KafkaJSConnectionError('closed'), 3, resource)).toMatchObject({
      code: 'KAFKA_TRANSIENT',
    });
    // Our bug while building the requests: retried, the same input would meet it again.
    const bug = new TypeError("Cannot read properties of undefined (reading 'value')");
    expect(transactionFailure(bug, 3, resource)).toMatchObject({
      code: 'INVARIANT_VIOLATED',
      fatal: true,
      cause: bug,
    });
  });

  it('names the refused operation, and ignores errors that are not about permissions', () => {
    const e = authorizationFailure(kafkaError('GROUP_AUTHORIZATION_FAILED'), {
      operation: 'Read',
      resource: 'group interest-drift',
    });
    expect(e?.message).toMatch(/Kafka denied Read on group interest-drift \(GROUP_AUTHORIZATION_FAILED\)/);
    expect(
      authorizationFailure(kafkaError('NOT_LEADER_FOR_PARTITION', true), {
        operation: 'Read',
        resource: 'x',
      }),
    ).toBeNull();
  });

  it('retries what kafkajs marks retriable, and CONCURRENT_TRANSACTIONS', () => {
    expect(isKafkaRetriable(kafkaError('LEADER_NOT_AVAILABLE', true))).toBe(true);
    expect(isKafkaRetriable(kafkaError('TOPIC_AUTHORIZATION_FAILED'))).toBe(false);
    expect(isKafkaRetriable(null)).toBe(false);
    expect(isConcurrentTransactions(kafkaError('CONCURRENT_TRANSACTIONS'))).toBe(true);
  });

  it('tells a cluster that does not answer (wait) from one that refuses (fail fast)', () => {
    const named = (name: string, cause?: unknown): Error => Object.assign(new Error(name), { name, cause });
    const refused = named('KafkaJSConnectionError');
    expect(isKafkaUnreachable(refused)).toBe(true);
    expect(isKafkaUnreachable(named('KafkaJSNumberOfRetriesExceeded', refused))).toBe(true);
    expect(isKafkaUnreachable(named('KafkaJSRequestTimeoutError'))).toBe(true);
    // An answer, even wrapped in kafkajs's give-up error, is not silence.
    expect(
      isKafkaUnreachable(named('KafkaJSNumberOfRetriesExceeded', kafkaError('TOPIC_AUTHORIZATION_FAILED'))),
    ).toBe(false);
    expect(isKafkaUnreachable(named('KafkaJSSASLAuthenticationError'))).toBe(false);
    expect(isKafkaUnreachable(new Error('boom'))).toBe(false);
    expect(isKafkaUnreachable(null)).toBe(false);
  });

  it('stops the service on a fatal ProcessorError or a bug, and leaves kafkajs errors to their retries', () => {
    expect(stopsService(new ProcessorError('INVARIANT_VIOLATED', 'x'))).toBe(true);
    expect(stopsService(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBe(true);
    expect(stopsService(new Error('raw'))).toBe(true);
    expect(stopsService('a string')).toBe(true);
    expect(stopsService(new ProcessorError('KAFKA_TRANSIENT', 'x'))).toBe(false);
    expect(stopsService(new ProcessorError('KAFKA_FENCED', 'x'))).toBe(false);
    expect(stopsService(new KafkaJSConnectionError('broker down'))).toBe(false);
    expect(stopsService(new KafkaJSProtocolError('REBALANCE_IN_PROGRESS'))).toBe(false);
  });
});
