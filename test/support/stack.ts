/**
 * The real local broker + registry for integration tests (started by `make test` through
 * test/harness/stack.sh). Tests create unique topics and groups so runs never interfere.
 *
 * Without IDRIFT_KAFKA_BROKERS / IDRIFT_SCHEMA_REGISTRY_URL the integration suites are skipped
 * with a stated reason — except under CI=true, where a missing stack is a failure, so CI can
 * never pass by skipping.
 */
import { randomBytes } from 'node:crypto';
import type { Admin, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { createKafka, createRegistry } from '../../src/kafka/clients';
import { createLogger } from '../../src/shared/logger';

export interface StackEnv {
  readonly brokers: string[];
  readonly registryUrl: string;
}

export function stackEnv(): StackEnv | null {
  const brokers = process.env.IDRIFT_KAFKA_BROKERS;
  const registryUrl = process.env.IDRIFT_SCHEMA_REGISTRY_URL;
  if (!brokers || !registryUrl) {
    if (process.env.CI === 'true') {
      throw new Error(
        'CI=true but IDRIFT_KAFKA_BROKERS / IDRIFT_SCHEMA_REGISTRY_URL are unset: run through `make test`',
      );
    }
    return null;
  }
  return { brokers: brokers.split(','), registryUrl };
}

/** describe() that runs against the real stack, or is skipped with the reason printed. */
export function describeWithStack(name: string, fn: (env: StackEnv) => void): void {
  const env = stackEnv();
  if (!env) {
    describe.skip(`${name} [skipped: IDRIFT_KAFKA_BROKERS unset; run \`make test\` to start the local stack]`, () => {
      it('needs the local stack', () => undefined);
    });
    return;
  }
  describe(name, () => fn(env));
}

export function uniqueName(prefix: string): string {
  return `${prefix}.${Date.now().toString(36)}.${randomBytes(3).toString('hex')}`;
}

export function testKafka(env: StackEnv, clientId = uniqueName('test')): Kafka {
  return createKafka({ brokers: env.brokers, clientId }, createLogger('warn'));
}

export function testRegistry(env: StackEnv) {
  return createRegistry({ url: env.registryUrl, retries: 0 });
}

export async function createTestTopic(admin: Admin, prefix: string, partitions = 1): Promise<string> {
  const topic = uniqueName(prefix);
  await admin.createTopics({
    topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  return topic;
}

/**
 * Reads `topic` from the beginning with a fresh group until `count` messages arrived or
 * `timeoutMs` passed, then stops; returns what arrived (so a test can assert on too few/many).
 * `settleMs` keeps reading after the count is reached, to catch unexpected extras.
 */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  opts: { count: number; timeoutMs?: number; settleMs?: number; readUncommitted?: boolean },
): Promise<KafkaMessage[]> {
  const consumer: Consumer = kafka.consumer({
    groupId: uniqueName('test-reader'),
    readUncommitted: opts.readUncommitted ?? false,
    maxWaitTimeInMs: 200,
  });
  const got: KafkaMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let reached: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (reached = resolve));
    await consumer.run({
      eachMessage: ({ message }) => {
        got.push(message);
        if (got.length >= opts.count) reached();
        return Promise.resolve();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, opts.timeoutMs ?? 20_000)));
    await Promise.race([done, timedOut]);
    clearTimeout(timer);
    if (opts.settleMs) await sleep(opts.settleMs);
  } finally {
    await consumer.disconnect();
  }
  return got;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
