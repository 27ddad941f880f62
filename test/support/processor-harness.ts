/**
 * Runs the real service (createApp: ONNX encoder, kafkajs, transactions) in-process against the
 * real local stack, on topics and a group unique to one test, and reads its committed outputs.
 */
import { CHECKPOINT_KEY } from '../../src/state/checkpoint';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { join } from 'node:path';
import type { Config } from '../../src/shared/config';
import { loadConfig } from '../../src/shared/config';
import type { App } from '../../src/app/create-app';
import { createApp } from '../../src/app/create-app';
import { createLogger } from '../../src/shared/logger';
import { waitCaughtUp } from '../../src/kafka/caught-up';
import type { ReadMessage } from '../../src/kafka/output-reader';
import { readCommitted } from '../../src/kafka/output-reader';
import { setUpTopics } from '../../src/kafka/topics';
import { appTopicsEnv } from './app-env';
import type { StackEnv } from './stack';
import { uniqueName } from './stack';

export const TINY_MODEL = join(__dirname, '..', 'fixtures', 'tiny-encoder.onnx');
export const TINY_META = join(__dirname, '..', 'fixtures', 'tiny-encoder.meta.json');

export function harnessConfig(env: StackEnv, name: string, overrides: Record<string, string> = {}): Config {
  const id = uniqueName(name).replace(/[^a-z0-9.-]/g, '-');
  return loadConfig({
    IDRIFT_KAFKA_BROKERS: env.brokers.join(','),
    IDRIFT_SCHEMA_REGISTRY_URL: env.registryUrl,
    ...appTopicsEnv(id),
    IDRIFT_INPUT_PARTITIONS: '3',
    IDRIFT_HTTP_PORT: '0',
    IDRIFT_LOG_LEVEL: 'warn',
    IDRIFT_MODEL_PATH: TINY_MODEL,
    IDRIFT_MODEL_META_PATH: TINY_META,
    IDRIFT_EXECUTION_PROVIDER: 'cpu',
    IDRIFT_MAX_BATCH_RECORDS: '200',
    IDRIFT_SESSION_TIMEOUT_MS: '10000',
    IDRIFT_HEARTBEAT_INTERVAL_MS: '1000',
    IDRIFT_TRANSACTION_TIMEOUT_MS: '10000',
    ...overrides,
  });
}

export async function createTopicsFor(kafka: Kafka, config: Config): Promise<void> {
  await setUpTopics(kafka, config, { inputPartitions: config.kafka.inputPartitions, replicationFactor: 1 });
}

export async function startApp(config: Config): Promise<App> {
  const app = createApp(config, createLogger('warn'));
  await app.start();
  return app;
}

export async function runUntilCaughtUp(kafka: Kafka, config: Config, timeoutMs = 120_000): Promise<void> {
  const app = await startApp(config);
  try {
    await Promise.race([
      waitCaughtUp(kafka, config.appId, config.topics.input, timeoutMs),
      app.done.then((code) => {
        throw new Error(`the processor stopped by itself (exit code ${code}) before catching up`);
      }),
    ]);
  } finally {
    await app.stop('test done');
  }
}

export interface Outputs {
  readonly migrations: ReadMessage[];
  readonly churn: ReadMessage[];
  readonly profiles: ReadMessage[];
  readonly deadLetters: ReadMessage[];
  readonly late: ReadMessage[];
  readonly changelog: ReadMessage[];
}

export async function readOutputs(kafka: Kafka, config: Config): Promise<Outputs> {
  const read = (t: string) => readCommitted(kafka, t, `${config.appId}.verify`);
  return {
    migrations: await read(config.topics.migrations),
    churn: await read(config.topics.churn),
    profiles: await read(config.topics.profiles),
    deadLetters: await read(config.topics.deadLetter),
    late: await read(config.topics.late),
    // User states only: the checkpoint record is the processor's bookkeeping.
    changelog: (await read(config.topics.userStateChangelog)).filter(
      (m) => m.key?.toString() !== CHECKPOINT_KEY,
    ),
  };
}

/** Output values grouped per key, in topic order: what "same per-user order" compares. */
export function perKey(messages: readonly KafkaMessage[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of messages) {
    const k = m.key?.toString() ?? '';
    const v = m.value === null ? '<tombstone>' : m.value.subarray(5).toString('base64');
    const list = out.get(k);
    if (list) list.push(v);
    else out.set(k, [v]);
  }
  return out;
}

/** The last value per key (a compacted view). */
export function lastPerKey(messages: readonly KafkaMessage[]): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const m of messages)
    out.set(m.key?.toString() ?? '', m.value === null ? null : m.value.subarray(5).toString('base64'));
  return out;
}
