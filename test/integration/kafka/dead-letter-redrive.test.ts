/**
 * After a fix, chosen dead letters go back to the input and are processed; a record re-driven
 * twice is counted once; `inspect` reads the resulting state from the changelog. Real broker and
 * registry, real processor.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { DeadLetterHeaders } from '../../../src/kafka/avro-types.gen';
import { ClickstreamEventSchema } from '../../../src/kafka/avro-types.gen';
import { REDRIVEN_FROM_HEADER, redriveDeadLetters } from '../../../src/kafka/dead-letter-redrive';
import { readCommitted } from '../../../src/kafka/output-reader';
import { replayRows } from '../../../src/kafka/replay-producer';
import { AvroSerde, valueSubject } from '../../../src/kafka/serde';
import { readUserState } from '../../../src/kafka/state-lookup';
import type { Config } from '../../../src/shared/config';
import { loadConfig } from '../../../src/shared/config';
import { simulate } from '../../../src/sim/simulator';
import { appTopicsEnv } from '../../support/app-env';
import {
  createTopicsFor,
  harnessConfig,
  readOutputs,
  runUntilCaughtUp,
} from '../../support/processor-harness';
import { describeWithStack, testKafka, testRegistry } from '../../support/stack';

jest.setTimeout(240_000);

const ROOT = join(__dirname, '..', '..', '..');

/** The same application (ids, topics) with other settings: what an operator's fix looks like. */
function reconfigured(config: Config, env: Record<string, string>): Config {
  return loadConfig({
    IDRIFT_KAFKA_BROKERS: config.kafka.brokers.join(','),
    IDRIFT_SCHEMA_REGISTRY_URL: config.registry.url,
    ...appTopicsEnv(config.appId),
    IDRIFT_INPUT_PARTITIONS: String(config.kafka.inputPartitions),
    IDRIFT_HTTP_PORT: '0',
    IDRIFT_MODEL_PATH: config.model.path,
    IDRIFT_MODEL_META_PATH: config.model.metaPath,
    IDRIFT_EXECUTION_PROVIDER: 'cpu',
    IDRIFT_LOG_LEVEL: 'warn',
    ...env,
  });
}

describeWithStack('dead-letter redrive and inspect', (env) => {
  let kafka: Kafka;
  beforeAll(() => {
    kafka = testKafka(env);
  });

  it('re-drives the chosen dead letters once each, and the processor counts a repeat once', async () => {
    const config = harnessConfig(env, 'redrive');
    await createTopicsFor(kafka, config);
    const serde = new AvroSerde(testRegistry(env));
    const rows = simulate({ seed: 5, users: 10, days: 1, activityScale: 1 }).rows;
    await replayRows(kafka, serde, rows, { topic: config.topics.input, idPrefix: 'r' });
    // An event 3 h after its record timestamp (a producer clock skew): VALIDATE_TIMESTAMP_OUT_OF_RANGE
    // under the default 1 h tolerance; and bytes that are no Avro at all: DECODE_BAD_MAGIC.
    const id = await serde.register(valueSubject(config.topics.input), ClickstreamEventSchema);
    const now = Date.now();
    const future = serde.encode(id, {
      eventId: 'future-1',
      userId: 'future-user',
      itemId: 'i1',
      categoryId: 'c1',
      eventType: 'VIEW',
      eventTimeMs: now + 3 * 3_600_000,
      sessionId: null,
      priceMinorUnits: null,
      currencyCode: null,
    });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: config.topics.input,
      messages: [
        { key: 'future-user', value: future, timestamp: String(now), headers: { origin: 'shop-7' } },
        { key: 'bad-user', value: Buffer.from('not avro') },
      ],
    });
    await producer.disconnect();
    await runUntilCaughtUp(kafka, config);
    const before = await readOutputs(kafka, config);
    expect(
      before.deadLetters.map((m) => m.headers?.[DeadLetterHeaders.errorCode]?.toString()).sort(),
    ).toEqual(['DECODE_BAD_MAGIC', 'VALIDATE_TIMESTAMP_OUT_OF_RANGE']);

    const filter = { codes: ['VALIDATE_TIMESTAMP_OUT_OF_RANGE'] };
    const dry = await redriveDeadLetters(kafka, config, filter, { dryRun: true });
    expect(dry).toEqual({
      examined: 2,
      matched: 1,
      redriven: 0,
      truncated: 0,
      byCode: { VALIDATE_TIMESTAMP_OUT_OF_RANGE: 1 },
    });
    const none = await redriveDeadLetters(
      kafka,
      config,
      { codes: ['DECODE_AVRO_INVALID'] },
      { dryRun: true },
    );
    expect(none.matched).toBe(0);
    // Twice on purpose: the second copy must not be counted again.
    for (let i = 0; i < 2; i++) {
      expect((await redriveDeadLetters(kafka, config, filter, { dryRun: false })).redriven).toBe(1);
    }

    // The fix: a larger tolerance for future event times. Same application, restarted.
    const fixed = reconfigured(config, { IDRIFT_MAX_EVENT_FUTURE_MS: String(6 * 3_600_000) });
    await runUntilCaughtUp(kafka, fixed);
    const after = await readOutputs(kafka, fixed);
    expect(after.deadLetters).toHaveLength(2);
    const state = await readUserState(kafka, serde, fixed, 'future-user');
    expect(state?.eventCount).toBe(1);
    expect(state?.lastEventTimeMs).toBe(now + 3 * 3_600_000);
    expect(await readUserState(kafka, serde, fixed, 'bad-user')).toBeNull();

    // The re-driven records carry their origin and the original headers.
    const input = await readCommitted(kafka, config.topics.input, `${config.appId}.check`);
    const redriven = input.filter((m) => m.headers?.[REDRIVEN_FROM_HEADER] !== undefined);
    expect(redriven).toHaveLength(2);
    for (const m of redriven) {
      expect(m.headers?.origin?.toString()).toBe('shop-7');
      expect(m.headers?.[REDRIVEN_FROM_HEADER]?.toString()).toMatch(
        new RegExp(`^${config.topics.deadLetter}/\\d+/\\d+$`),
      );
      expect(m.value?.equals(future)).toBe(true);
    }

    // The same state through the CLI, as an operator would read it.
    const cli = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'inspect', 'future-user'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
      env: {
        PATH: process.env.PATH ?? '',
        IDRIFT_KAFKA_BROKERS: env.brokers.join(','),
        IDRIFT_SCHEMA_REGISTRY_URL: env.registryUrl,
        IDRIFT_APP_ID: config.appId,
        IDRIFT_INPUT_TOPIC: config.topics.input,
        IDRIFT_LOG_LEVEL: 'warn',
      },
    });
    expect(cli.status).toBe(0);
    const summary = JSON.parse(cli.stdout) as { userId: string; eventCount: number; shortTermTop: unknown[] };
    expect(summary.userId).toBe('future-user');
    expect(summary.eventCount).toBe(1);
    expect(summary.shortTermTop).toEqual([{ categoryId: 'c1', share: 1 }]);
  });
});
