/**
 * A partition's eager start (fence, restore) on the REAL broker, when it fails for a transient
 * reason: the service tries again while it owns the partition. Before, a quiet partition stayed
 * closed until input came, the instance never ready and its processing-time timers never run.
 */
import { KafkaJSConnectionError } from 'kafkajs';
import * as partitionTask from '../../../src/kafka/partition-task';
import { createApp } from '../../../src/app/create-app';
import { ProcessorError } from '../../../src/shared/errors';
import { createLogger } from '../../../src/shared/logger';
import { createTopicsFor, harnessConfig } from '../../support/processor-harness';
import { describeWithStack, sleep, testKafka } from '../../support/stack';

jest.setTimeout(120_000);

describeWithStack('eager partition start', (env) => {
  it('opens a quiet partition again after its start failed transiently', async () => {
    const config = harnessConfig(env, 'start-retry');
    await createTopicsFor(testKafka(env), config);
    const real = partitionTask.openPartitionTask;
    const injected = new Map<number, number>();
    // Fault injection into our own start-up step, the broker stays real: the first start of
    // partition 1 meets a kafkajs error as thrown by a fencing producer whose connection broke,
    // that of partition 2 one of ours (a restore that timed out).
    const failures: Record<number, () => Error> = {
      1: () => new KafkaJSConnectionError('Connection error: injected', { broker: 'localhost' }),
      2: () => new ProcessorError('KAFKA_TRANSIENT', 'injected: the changelog restore timed out'),
    };
    const open = jest.spyOn(partitionTask, 'openPartitionTask').mockImplementation((deps, p, stopping) => {
      const fail = failures[p];
      if (fail && !injected.has(p)) {
        injected.set(p, 1);
        return Promise.reject(fail());
      }
      return real(deps, p, stopping);
    });
    const app = createApp(config, createLogger('error'));
    try {
      await app.start();
      // No input at all: only the eager start ever opens the partitions.
      const readyz = `http://127.0.0.1:${String(app.httpPort())}/readyz`;
      let ready = false;
      for (const until = Date.now() + 30_000; !ready && Date.now() < until; await sleep(200)) {
        ready = (await fetch(readyz)).status === 200;
      }
      expect([...injected.keys()].sort()).toEqual([1, 2]);
      expect(ready).toBe(true);
    } finally {
      open.mockRestore();
      await app.stop('test done');
    }
  });
});
