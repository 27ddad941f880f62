/**
 * A stop hands its partitions over with every state written: the stopping instance flushes its
 * dirty states while still a member of the group, so the instance that takes the partitions over
 * cannot fence that flush. States are kept dirty until the stop (flush interval of an hour) and
 * written one per transaction, so the flush lasts seconds, longer than the other member needs to
 * rejoin and open the partitions (heartbeat 1 s).
 */
import type { Kafka } from 'kafkajs';
import type { ReadMessage } from '../../../src/kafka/output-reader';
import { replayRows } from '../../../src/kafka/replay-producer';
import { AvroSerde } from '../../../src/kafka/serde';
import { simulate } from '../../../src/sim/simulator';
import { waitCaughtUp } from '../../../src/kafka/caught-up';
import type { App } from '../../../src/app/create-app';
import { keyPartition } from '../../../src/kafka/key-partitioner';
import {
  createTopicsFor,
  harnessConfig,
  lastPerKey,
  readOutputs,
  runUntilCaughtUp,
  startApp,
} from '../../support/processor-harness';
import { describeWithStack, sleep, testKafka, testRegistry } from '../../support/stack';

jest.setTimeout(240_000);

const SLOW_FLUSH = {
  IDRIFT_STATE_FLUSH_INTERVAL_MS: '3600000',
  IDRIFT_STATE_FLUSH_MAX_RECORDS: '10000000',
  IDRIFT_STATE_FLUSH_MAX_STATES: '1',
};

async function ownedPartitions(app: App): Promise<Set<number>> {
  const gauge = await app.metrics.usersInState.get();
  return new Set(gauge.values.map((v) => Number(v.labels.partition)));
}

/** The last changelog value per user whose record lies in one of `partitions`. */
function lastIn(changelog: readonly ReadMessage[], partitions: Set<number>): Map<string, string | null> {
  return lastPerKey(changelog.filter((m) => partitions.has(m.partition)));
}

describeWithStack('stop while another instance runs', (env) => {
  let kafka: Kafka;
  const apps: App[] = [];
  afterAll(async () => {
    for (const a of apps) await a.stop('test done');
  });

  it('writes every state of the stopping instance before the other one takes its partitions', async () => {
    kafka = testKafka(env);
    const rows = simulate({ seed: 11, users: 300, days: 1, activityScale: 2 }).rows;
    const reference = harnessConfig(env, 'handover-ref', SLOW_FLUSH);
    const handover = harnessConfig(env, 'handover', SLOW_FLUSH);
    for (const c of [reference, handover]) {
      await createTopicsFor(kafka, c);
      await replayRows(kafka, new AvroSerde(testRegistry(env)), rows, {
        topic: c.topics.input,
        idPrefix: 'h',
      });
    }
    await runUntilCaughtUp(kafka, reference);
    const expected = (await readOutputs(kafka, reference)).changelog;

    apps.push(await startApp(handover), await startApp(handover));
    const [first, second] = apps as [App, App];
    for (let i = 0; ; i++) {
      const owned = await Promise.all(apps.map(ownedPartitions));
      if (owned.every((s) => s.size > 0) && owned[0]!.size + owned[1]!.size === 3) break;
      if (i > 300) throw new Error('the two instances never shared the three partitions');
      await sleep(200);
    }
    await waitCaughtUp(kafka, handover.appId, handover.topics.input, 120_000);
    const leaving = await ownedPartitions(first);

    // Until it leaves the group, the stopping instance still owns its partitions (other members
    // redirect lookups to it): its committed states answer them through the whole flush.
    const leavingUser = [...new Set(rows.map((r) => r.userId))].find((u) =>
      leaving.has(keyPartition(u, handover.kafka.inputPartitions)),
    ) as string;
    const port = first.httpPort() as number;
    let stopped = false;
    const stopping = first.stop('test handover').finally(() => (stopped = true));
    const statuses: number[] = [];
    while (!stopped) {
      const status = await fetch(
        `http://127.0.0.1:${port}/v1/users/${encodeURIComponent(leavingUser)}/interests`,
      ).then(
        (r) => r.status,
        () => null, // the HTTP server has closed
      );
      if (status === null) break;
      statuses.push(status);
      await sleep(50);
    }
    await stopping;
    apps.splice(0, 1);
    expect(statuses.length).toBeGreaterThan(3);
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    // The second instance writes nothing before its own stop (flush interval of an hour): what
    // the changelog holds now for the leaving instance's partitions is what its stop wrote.
    const afterFirst = lastIn((await readOutputs(kafka, handover)).changelog, leaving);
    const want = lastIn(expected, leaving);
    expect(want.size).toBeGreaterThan(50);
    expect(afterFirst).toEqual(want);

    await second.stop('test done');
    apps.splice(0, 1);
    expect(lastPerKey((await readOutputs(kafka, handover)).changelog)).toEqual(lastPerKey(expected));
  });
});
