/**
 * The local stack as the system tests see it: connection settings, and the faults they inject
 * through test/harness/stack.sh (broker restart, registry stop/start) with the same environment
 * (IDRIFT_STACK_DIR, ports, IDRIFT_REGISTRY_PERSIST=1 so schema ids survive a registry restart).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';

const run = promisify(execFile);
export const ROOT = join(__dirname, '..', '..', '..');
const STACK = join(ROOT, 'test', 'harness', 'stack.sh');

export interface Cluster {
  readonly brokers: string[];
  readonly registryUrl: string;
  readonly kafka: Kafka;
}

export function clusterFromEnv(env: NodeJS.ProcessEnv): Cluster {
  const brokers = (env.IDRIFT_KAFKA_BROKERS ?? '').split(',').filter(Boolean);
  const registryUrl = env.IDRIFT_SCHEMA_REGISTRY_URL ?? '';
  if (brokers.length === 0 || !registryUrl) {
    throw new Error(
      'IDRIFT_KAFKA_BROKERS and IDRIFT_SCHEMA_REGISTRY_URL must be set (run through test/harness/with-stack.sh)',
    );
  }
  const kafka = new Kafka({
    clientId: 'system-test',
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 2_000 },
  });
  return { brokers, registryUrl, kafka };
}

export async function stack(command: string): Promise<void> {
  await run(STACK, [command], { env: process.env, cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
}

/**
 * Open transactions the broker considers hanging (Kafka's own `kafka-transactions find-hanging`
 * from the broker jars). Returns the tool's data rows; empty = none.
 */
export async function findHangingTransactions(brokers: readonly string[]): Promise<string[]> {
  const libs = join(process.env.IDRIFT_CACHE_DIR ?? join(ROOT, '.cache'), 'kafka', 'libs', '*');
  const { stdout } = await run(
    'java',
    [
      '-cp',
      libs,
      'org.apache.kafka.tools.TransactionsCommand',
      '--bootstrap-server',
      brokers.join(','),
      'find-hanging',
      '--broker-id',
      '1',
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('Topic'));
}
