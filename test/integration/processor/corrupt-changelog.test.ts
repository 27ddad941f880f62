/**
 * A changelog value that no version of the state reads (a bug, or a foreign writer on our topic)
 * is not an outage: the service stops with a non-zero exit code and names the cause, instead of
 * restoring the partition again and again. It does so before any input arrives for the partition.
 */
import type { App } from '../../../src/app/create-app';
import { createApp } from '../../../src/app/create-app';
import { createLogger } from '../../../src/shared/logger';
import { createTopicsFor, harnessConfig } from '../../support/processor-harness';
import { describeWithStack, testKafka } from '../../support/stack';

jest.setTimeout(120_000);

describeWithStack('a changelog value no state version reads', (env) => {
  let app: App | null = null;
  afterAll(async () => {
    await app?.stop('test done');
  });

  it('stops the service with exit code 1, with no input at all', async () => {
    const kafka = testKafka(env);
    const config = harnessConfig(env, 'corrupt-changelog');
    await createTopicsFor(kafka, config);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: config.topics.userStateChangelog,
      messages: [0, 1, 2].map((partition) => ({
        key: `u${partition}`,
        value: Buffer.from([0x42, 1, 2, 3]),
        partition,
      })),
    });
    await producer.disconnect();
    const lines: string[] = [];
    app = createApp(config, createLogger('error', { write: (line) => void lines.push(line) }));
    await app.start();
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      app.done,
      new Promise<'still running'>((r) => (timer = setTimeout(() => r('still running'), 60_000))),
    ]);
    clearTimeout(timer);
    expect(outcome).toBe(1);
    expect(lines.join('\n')).toMatch(/INVARIANT_VIOLATED|unknown format/);
    // The stop names the partitions, not the users whose values it could not read.
    expect(lines.join('\n')).not.toMatch(/"u[012]"/);
  });
});
