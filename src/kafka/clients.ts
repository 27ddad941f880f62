/**
 * Factories for the Kafka and schema-registry clients, built once by the composition root
 * (or a test) from the frozen Config, and the start-up check of the Kafka permissions.
 *
 * Security: SASL (SCRAM-SHA-512/256, PLAIN) and TLS (CA, client certificate and key, read from
 * files when the client is built) for Kafka; HTTP basic auth and TLS for the registry. Passwords
 * and keys never reach a log line or an error message.
 */
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import type { KafkaConfig, LogEntry, SASLOptions } from 'kafkajs';
import { Kafka, logLevel } from 'kafkajs';
import type { Config, SaslConfig, TlsConfig } from '../app/config';
import { ProcessorError } from '../app/errors';
import type { Logger } from '../app/logger';

export interface KafkaClientOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** SASL credentials; absent or null = no SASL. */
  readonly sasl?: SaslConfig | null;
  /** TLS; absent or null = plaintext. */
  readonly tls?: TlsConfig | null;
}

/** Client options from the Config (brokers, client id, SASL, TLS); `clientIdSuffix` names a tool. */
export function kafkaClientOptions(config: Config, clientIdSuffix = ''): KafkaClientOptions {
  return {
    brokers: config.kafka.brokers,
    clientId: `${config.kafka.clientId}${clientIdSuffix}`,
    sasl: config.kafka.sasl,
    tls: config.kafka.tls,
  };
}

function tlsOptions(tls: TlsConfig): ConnectionOptions {
  return {
    ...(tls.caFile ? { ca: [readFileSync(tls.caFile)] } : {}),
    ...(tls.certFile ? { cert: readFileSync(tls.certFile) } : {}),
    ...(tls.keyFile ? { key: readFileSync(tls.keyFile) } : {}),
  };
}

/** The kafkajs connection settings (brokers, SASL, TLS) of `opts`, without logging. */
function connectionConfig(opts: KafkaClientOptions): KafkaConfig {
  const sasl: SASLOptions | undefined = opts.sasl
    ? {
        mechanism: opts.sasl.mechanism,
        username: opts.sasl.username,
        password: opts.sasl.password,
      }
    : undefined;
  return {
    clientId: opts.clientId,
    brokers: [...opts.brokers],
    ...(opts.tls ? { ssl: tlsOptions(opts.tls) } : {}),
    ...(sasl ? { sasl } : {}),
  };
}

function plainFields(entry: Record<string, unknown>): Record<string, string | number | boolean> {
  const fields: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(entry)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') fields[k] = v;
  }
  return fields;
}

/** A kafkajs client whose logs go through our structured logger (kafkajs logs no record data). */
export function createKafka(opts: KafkaClientOptions, logger: Logger): Kafka {
  const log = logger.child('kafkajs');
  return new Kafka({
    ...connectionConfig(opts),
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        const fields = plainFields(rest);
        // kafkajs logs every failed protocol response at ERROR, even those it retries itself
        // (coordinator loading, concurrent transactions); the outcome is logged separately.
        if (level <= logLevel.ERROR && message.startsWith('Response ')) log.debug(message, fields);
        else if (level <= logLevel.ERROR) log.error(message, fields);
        else if (level === logLevel.WARN) log.warn(message, fields);
        else log.debug(message, fields);
      },
  });
}

export interface RegistryClientOptions {
  readonly url: string;
  /** Retries of one HTTP call inside the client; the pipeline adds its own backoff and pause. */
  readonly retries?: number;
  /** HTTP basic auth; absent or null = none. */
  readonly auth?: { readonly username: string; readonly password: string } | null;
  /** TLS for an https:// URL (CA, client certificate and key); absent or null = Node's defaults. */
  readonly tls?: TlsConfig | null;
}

/** Registry client options from the Config. */
export function registryClientOptions(config: Config): RegistryClientOptions {
  return { url: config.registry.url, auth: config.registry.auth, tls: config.registry.tls };
}

export function createRegistry(opts: RegistryClientOptions): SchemaRegistry {
  return new SchemaRegistry({
    host: opts.url,
    clientId: 'interest-drift',
    retry: { retries: opts.retries ?? 2, initialRetryTimeInSecs: 0.1, maxRetryTimeInSecs: 1 },
    ...(opts.auth ? { auth: { username: opts.auth.username, password: opts.auth.password } } : {}),
    ...(opts.tls ? { agent: new HttpsAgent({ ...tlsOptions(opts.tls), keepAlive: true }) } : {}),
  });
}

// ---------------------------------------------------------------------------------------------
// Authorization: what the service needs, a start-up check, and a mapping of kafkajs errors.

/** Kafka ACL operations the service uses. */
export type KafkaOperation = 'Read' | 'Write' | 'Describe' | 'IdempotentWrite';

/**
 * Every Kafka permission the processor needs, derived from the Config. k8s/base/kafka-user.yaml
 * grants exactly these (the security integration test applies that manifest's ACLs).
 */
export interface KafkaAccessPlan {
  readonly topics: readonly { readonly name: string; readonly operations: readonly KafkaOperation[] }[];
  /** Consumer groups; `probe` is a group id the check looks up (for a prefixed grant, one inside it). */
  readonly groups: readonly { readonly grant: string; readonly prefixed: boolean; readonly probe: string }[];
  /** Prefix of the per-partition transactional ids `<appId>-<inputTopic>-<partition>`. */
  readonly transactionalIdPrefix: string;
}

export function kafkaAccessPlan(config: Config): KafkaAccessPlan {
  const t = config.topics;
  const write: KafkaOperation[] = ['Write', 'Describe'];
  return {
    topics: [
      { name: t.input, operations: ['Read', 'Describe'] },
      { name: t.migrations, operations: write },
      { name: t.churn, operations: write },
      ...(config.profilesEnabled ? [{ name: t.profiles, operations: write }] : []),
      { name: t.deadLetter, operations: write },
      { name: t.userStateChangelog, operations: ['Read', 'Write', 'Describe'] },
    ],
    groups: [
      { grant: config.appId, prefixed: false, probe: config.appId },
      // changelog restore reads with a throw-away group `<appId>.restore.<pid>.<ms>`
      { grant: `${config.appId}.restore.`, prefixed: true, probe: `${config.appId}.restore.preflight` },
    ],
    transactionalIdPrefix: `${config.appId}-${t.input}-`,
  };
}

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

/**
 * Checks, before the processor joins its group, that the Kafka user can reach everything in
 * `plan`, and throws ONE ProcessorError listing every missing permission:
 *   KAFKA_AUTHENTICATION_FAILED   the SASL credentials were refused
 *   KAFKA_AUTHORIZATION_FAILED    a topic, group or transactional id is not granted
 * Side-effect free except for one InitProducerId on the transactional id `<prefix>preflight`,
 * which never begins a transaction (so it fences nobody).
 *
 * kafkajs hides a refused FindCoordinator (group or transactional id) behind "Failed to find
 * group coordinator"; this check's own client logs at debug level to read the broker's answer.
 * What it cannot see: a grant that has Describe but lacks Read/Write fails later, at the first
 * fetch or transaction.
 */
export async function verifyKafkaAccess(
  opts: KafkaClientOptions,
  plan: KafkaAccessPlan,
  logger: Logger,
): Promise<void> {
  const coordinatorErrors = new Map<string, string>();
  const log = logger.child('kafka-access');
  const kafka = new Kafka({
    ...connectionConfig({ ...opts, clientId: `${opts.clientId}-preflight` }),
    logLevel: logLevel.DEBUG,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry as { message: string; groupId?: unknown; error?: unknown };
        const type = kafkaErrorType(rest.error);
        if (message === 'Tried to find group coordinator' && typeof rest.groupId === 'string' && type) {
          coordinatorErrors.set(rest.groupId, type);
        }
        if (level <= logLevel.ERROR && !message.startsWith('Response '))
          log.debug(message, plainFields(rest));
      },
  });
  const who = opts.sasl ? `Kafka user "${opts.sasl.username}"` : 'the Kafka client';
  const problems: string[] = [];
  const deny = (resource: string, needs: readonly string[], type: string): void => {
    problems.push(`${resource}: denied (${type}); the service needs ${needs.join(' + ')} on it`);
  };
  // Coordinators may still be loading (fresh cluster, moved partition): retry what kafkajs marks
  // retriable, a bounded number of times, so a transient state is never reported as missing ACLs.
  const retrying = async <T>(fn: () => Promise<T>): Promise<T> => {
    for (let attempt = 0, delayMs = 100; ; attempt++, delayMs = Math.min(2_000, delayMs * 2)) {
      try {
        return await fn();
      } catch (e) {
        if ((e as { retriable?: unknown }).retriable !== true || attempt >= 10) throw e;
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
  };
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (e) {
    if ((e as { name?: unknown }).name === 'KafkaJSSASLAuthenticationError') {
      throw new ProcessorError(
        'KAFKA_AUTHENTICATION_FAILED',
        `Kafka refused the SASL ${opts.sasl?.mechanism ?? ''} credentials of ${who}`,
        { cause: e },
      );
    }
    throw e;
  }
  try {
    for (const t of plan.topics) {
      try {
        await retrying(() => admin.fetchTopicMetadata({ topics: [t.name] }));
      } catch (e) {
        const type = kafkaErrorType(e);
        if (type === 'TOPIC_AUTHORIZATION_FAILED') deny(`topic "${t.name}"`, t.operations, type);
        else if (type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw e;
      }
    }
    for (const g of plan.groups) {
      try {
        await retrying(() => admin.fetchOffsets({ groupId: g.probe }));
      } catch (e) {
        const type = kafkaErrorType(e) ?? coordinatorErrors.get(g.probe);
        if (type !== 'GROUP_AUTHORIZATION_FAILED') throw e;
        deny(`${g.prefixed ? 'groups with prefix' : 'group'} "${g.grant}"`, ['Read'], type);
      }
    }
  } finally {
    await admin.disconnect();
  }
  const probe = `${plan.transactionalIdPrefix}preflight`;
  const producer = kafka.producer({ transactionalId: probe, idempotent: true, maxInFlightRequests: 1 });
  try {
    await producer.connect();
    const txn = await producer.transaction();
    await txn.abort();
  } catch (e) {
    const type = kafkaErrorType(e) ?? coordinatorErrors.get(probe);
    if (type === 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED') {
      deny(`transactional ids with prefix "${plan.transactionalIdPrefix}"`, ['Write', 'Describe'], type);
    } else if (type === 'CLUSTER_AUTHORIZATION_FAILED') {
      // kafkajs' idempotent producer asks for a producer id without a transactional id first;
      // Kafka ≥ 3.0 grants that to anyone with Write on a topic (KIP-679).
      deny('the cluster', ['IdempotentWrite (or Write on any topic, Kafka ≥ 3.0)'], type);
    } else if (problems.length === 0) {
      throw e;
    }
  } finally {
    await producer.disconnect();
  }
  if (problems.length > 0) {
    throw new ProcessorError(
      'KAFKA_AUTHORIZATION_FAILED',
      `${who} lacks Kafka permissions (${problems.length}):\n  - ${problems.join('\n  - ')}`,
      { context: { problems: problems.length } },
    );
  }
  log.info('kafka permissions verified', {
    topics: plan.topics.length,
    groups: plan.groups.length,
  });
}
