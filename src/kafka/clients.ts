/**
 * Factories for the Kafka and schema-registry clients, built once by the composition root
 * (or a test) from the frozen Config.
 *
 * Security: SASL (SCRAM-SHA-512/256, PLAIN) and TLS (CA, client certificate and key, read from
 * files when the client is built) for Kafka; HTTP basic auth and TLS for the registry. Passwords
 * and keys never reach a log line or an error message. The start-up permission check is in
 * access-check.ts.
 */
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import type { KafkaConfig, LogEntry, SASLOptions } from 'kafkajs';
import { Kafka, logLevel } from 'kafkajs';
import type { Config, SaslConfig, TlsConfig } from '../shared/config';
import { assertKafkajsPatched } from './kafkajs-patch';
import type { Logger } from '../shared/logger';

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

export function tlsOptions(tls: TlsConfig): ConnectionOptions {
  return {
    ...(tls.caFile ? { ca: [readFileSync(tls.caFile)] } : {}),
    ...(tls.certFile ? { cert: readFileSync(tls.certFile) } : {}),
    ...(tls.keyFile ? { key: readFileSync(tls.keyFile) } : {}),
  };
}

/** The kafkajs connection settings (brokers, SASL, TLS) of `opts`, without logging. */
export function connectionConfig(opts: KafkaClientOptions): KafkaConfig {
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

export function plainFields(entry: Record<string, unknown>): Record<string, string | number | boolean> {
  const fields: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(entry)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') fields[k] = v;
  }
  return fields;
}

/** A kafkajs client whose logs go through our structured logger (kafkajs logs no record data). */
export function createKafka(opts: KafkaClientOptions, logger: Logger): Kafka {
  assertKafkajsPatched();
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
