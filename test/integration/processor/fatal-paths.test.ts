/**
 * A fatal error met outside the consumer loop, on the REAL broker: the quiet flush (dirty states
 * written while no input arrives) meets an error it cannot get past, and the service stops with
 * exit code 1 instead of logging a warning and retrying the same write for ever.
 */
import type { Admin, Kafka } from 'kafkajs';
import { ConfigResourceTypes } from 'kafkajs';
import { createRegistry } from '../../../src/kafka/clients';
import { replayRows } from '../../../src/kafka/replay-producer';
import { AvroSerde } from '../../../src/kafka/serde';
import { waitCaughtUp } from '../../../src/kafka/caught-up';
import { simulate } from '../../../src/sim/simulator';
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

  it('stops with exit code 1 when the quiet flush of dirty states fails with a fatal error', async () => {
    // States become due 5 s after their first change: the input is processed before that, so
    // its users are still dirty, and only the quiet flush writes them.
    const config = harnessConfig(env, 'flush-fatal', { IDRIFT_STATE_FLUSH_INTERVAL_MS: '5000' });
    await createTopicsFor(kafka, config);
    const serde = new AvroSerde(createRegistry({ url: env.registryUrl }));
    const rows = simulate({ seed: 5, users: 30, days: 1, activityScale: 1 }).rows;
    await replayRows(kafka, serde, rows, { topic: config.topics.input, idPrefix: 'f' });
    const app = await startApp(config);
    try {
      await waitCaughtUp(kafka, config.appId, config.topics.input, 120_000);
      // The changelog now refuses any batch over 256 bytes: a user state is larger, so its write
      // fails with MESSAGE_TOO_LARGE (INVARIANT_VIOLATED), on every attempt.
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
      const code = await Promise.race([app.done, sleep(60_000).then(() => 'still running')]);
      expect(code).toBe(1);
    } finally {
      await app.stop('test done');
    }
  });
});
