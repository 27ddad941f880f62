/**
 * Errors that must stop the service, on the REAL broker, where kafkajs would otherwise retry for
 * ever behind a live process:
 * - the quiet flush (dirty states written while no input arrives) meets an error it cannot get
 *   past: exit code 1, not a warning and the same write again and again;
 * - a processing-time timer throws an error that is neither a ProcessorError nor a kafkajs error
 *   (a bug): exit code 1, not a warning at every tick;
 * - the last flush of a stop meets a fatal error: the stop goes on, and the exit code is 1, not 0;
 * - a batch's processing throws such a bug: exit code 1, naming it. (kafkajs' consumer already
 *   crashed without restart on a non-kafkajs error; this keeps that true across its upgrades.)
 */
import type { Admin, Kafka } from 'kafkajs';
import { ConfigResourceTypes } from 'kafkajs';
import { createRegistry } from '../../../src/kafka/clients';
import { replayRows } from '../../../src/kafka/replay-producer';
import { AvroSerde } from '../../../src/kafka/serde';
import { waitCaughtUp } from '../../../src/kafka/caught-up';
import { simulate } from '../../../src/sim/simulator';
import { PartitionProcessor } from '../../../src/pipeline/partition-processor';
import { createLogger } from '../../../src/shared/logger';
import { createApp } from '../../../src/app/create-app';
import type { App } from '../../../src/app/create-app';
import type { Config } from '../../../src/shared/config';
import { createTopicsFor, harnessConfig, startApp } from '../../support/processor-harness';
import { describeWithStack, sleep, testKafka } from '../../support/stack';

jest.setTimeout(180_000);

describeWithStack('fatal errors outside the consumer loop', (env) => {
  let kafka: Kafka;
  let admin: Admin;

  beforeAll(async () => {
    kafka = testKafka(env);
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin.disconnect();
  });

  /** A fresh application's config, its topics created and a day of 30 users in its input. */
  async function withInput(
    name: string,
    seed: number,
    overrides: Record<string, string> = {},
  ): Promise<Config> {
    const config = harnessConfig(env, name, overrides);
    await createTopicsFor(kafka, config);
    const serde = new AvroSerde(createRegistry({ url: env.registryUrl }));
    const rows = simulate({ seed, users: 30, days: 1, activityScale: 1 }).rows;
    await replayRows(kafka, serde, rows, { topic: config.topics.input, idPrefix: name });
    return config;
  }

  /** The service of `config`, not started, with its error log lines kept. */
  function appWithLog(config: Config): { app: App; log: () => string } {
    const lines: string[] = [];
    const app = createApp(config, createLogger('error', { write: (line) => void lines.push(line) }));
    return { app, log: () => lines.join('\n') };
  }

  /** From now on the changelog refuses any batch over 256 bytes: every state write fails (MESSAGE_TOO_LARGE). */
  async function refuseChangelogWrites(config: Config): Promise<void> {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: config.topics.userStateChangelog,
          configEntries: [{ name: 'max.message.bytes', value: '256' }],
        },
      ],
    });
  }

  it('stops with exit code 1 when the quiet flush of dirty states fails with a fatal error', async () => {
    // States become due 5 s after their first change: the input is processed before that, so
    // its users are still dirty, and only the quiet flush writes them.
    const config = await withInput('flush-fatal', 5, { IDRIFT_STATE_FLUSH_INTERVAL_MS: '5000' });
    const app = await startApp(config);
    try {
      await waitCaughtUp(kafka, config.appId, config.topics.input, 120_000);
      // A user state is larger than 256 bytes, so its write fails on every attempt.
      await refuseChangelogWrites(config);
      const code = await Promise.race([app.done, sleep(60_000).then(() => 'still running')]);
      expect(code).toBe(1);
    } finally {
      await app.stop('test done');
    }
  });

  it("stops with exit code 1 when processing throws an error that is neither ours nor kafkajs' (a bug)", async () => {
    const config = await withInput('bug-throw', 6);
    // Fault injection into our own code, not a stand-in for Kafka: every batch meets the bug.
    const bug = jest
      .spyOn(PartitionProcessor.prototype, 'process')
      .mockRejectedValue(new TypeError("Cannot read properties of undefined (reading 'window')"));
    const { app, log } = appWithLog(config);
    try {
      await app.start();
      const code = await Promise.race([app.done, sleep(60_000).then(() => 'still running')]);
      expect(code).toBe(1);
      expect(bug).toHaveBeenCalled();
      expect(log()).toContain('processing failed with a bug; stopping');
      expect(log()).toContain('TypeError: Cannot read properties of undefined');
    } finally {
      bug.mockRestore();
      await app.stop('test done');
    }
  });

  it('stops with exit code 1 when the processing-time timers of an idle partition throw a bug', async () => {
    const config = await withInput('timer-bug', 7, { IDRIFT_IDLE_PARTITION_TIMER_MS: '1000' });
    const bug = jest
      .spyOn(PartitionProcessor.prototype, 'fireProcessingTimeTimers')
      .mockImplementation(() => {
        throw new TypeError("Cannot read properties of undefined (reading 'dueMs')");
      });
    const { app, log } = appWithLog(config);
    try {
      await app.start();
      // The input is processed, then its partitions fall idle with churn timers pending.
      const code = await Promise.race([app.done, sleep(60_000).then(() => 'still running')]);
      expect(bug).toHaveBeenCalled();
      expect(code).toBe(1);
      expect(log()).toContain("TypeError: Cannot read properties of undefined (reading 'dueMs')");
    } finally {
      bug.mockRestore();
      await app.stop('test done');
    }
  });

  it('exits 1 when the last flush of a stop fails with a fatal error', async () => {
    // Nothing is written before the stop: states become due an hour after their first change.
    const config = await withInput('stop-flush-fatal', 8, { IDRIFT_STATE_FLUSH_INTERVAL_MS: '3600000' });
    const { app, log } = appWithLog(config);
    try {
      await app.start();
      await waitCaughtUp(kafka, config.appId, config.topics.input, 120_000);
      await refuseChangelogWrites(config);
    } finally {
      await app.stop('test done');
    }
    expect(await app.done).toBe(1);
    expect(log()).toContain('MESSAGE_TOO_LARGE');
  });
});
