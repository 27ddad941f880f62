/**
 * Factories for the Kafka and schema-registry clients, built once by the composition root
 * (or a test) from the frozen Config.
 */
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { LogEntry } from 'kafkajs';
import { Kafka, logLevel } from 'kafkajs';
import type { Logger } from '../app/logger';

export interface KafkaClientOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
}

/** A kafkajs client whose logs go through our structured logger (kafkajs logs no record data). */
export function createKafka(opts: KafkaClientOptions, logger: Logger): Kafka {
  const log = logger.child('kafkajs');
  return new Kafka({
    clientId: opts.clientId,
    brokers: [...opts.brokers],
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        const fields: Record<string, string | number | boolean> = {};
        for (const [k, v] of Object.entries(rest)) {
          if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') fields[k] = v;
        }
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
}

export function createRegistry(opts: RegistryClientOptions): SchemaRegistry {
  return new SchemaRegistry({
    host: opts.url,
    clientId: 'interest-drift',
    retry: { retries: opts.retries ?? 2, initialRetryTimeInSecs: 0.1, maxRetryTimeInSecs: 1 },
  });
}
