/**
 * The two example consumers of src/examples, run against what the real processor committed on
 * the real broker and registry: the ad-bidding example sees every migration once and boosts the
 * categories each user moved to last; the retention example's open alerts are exactly the raised
 * alerts never replaced nor resolved.
 */
import type { Kafka } from 'kafkajs';
import { startAdBiddingExample } from '../../../src/examples/ad-bidding-consumer';
import { startRetentionExample } from '../../../src/examples/retention-consumer';
import { churnReader, decodeAll, migrationReader, readCommitted } from '../../../src/kafka/output-reader';
import { replayRows } from '../../../src/kafka/replay-producer';
import { AvroSerde } from '../../../src/kafka/serde';
import { simulate } from '../../../src/sim/simulator';
import { createTopicsFor, harnessConfig, runUntilCaughtUp } from '../../support/processor-harness';
import { describeWithStack, sleep, testKafka, testRegistry, uniqueName } from '../../support/stack';

jest.setTimeout(240_000);

describeWithStack('example consumers on committed outputs', (env) => {
  let kafka: Kafka;

  it('ad-bidding and retention examples agree with the committed outputs', async () => {
    kafka = testKafka(env);
    const config = harnessConfig(env, 'examples');
    await createTopicsFor(kafka, config);
    const serde = new AvroSerde(testRegistry(env));
    const rows = simulate({ seed: 11, users: 300, days: 2, activityScale: 3 }).rows;
    await replayRows(kafka, serde, rows, { topic: config.topics.input, idPrefix: 'x' });
    await runUntilCaughtUp(kafka, config);

    const migrations = await decodeAll(
      serde,
      await readCommitted(kafka, config.topics.migrations, 'ex-check'),
      migrationReader,
    );
    const churn = await decodeAll(
      serde,
      await readCommitted(kafka, config.topics.churn, 'ex-check'),
      churnReader,
    );
    expect(migrations.length).toBeGreaterThan(0);
    expect(churn.some((c) => c.status === 'RESOLVED')).toBe(true);

    const opts = { brokers: env.brokers, registryUrl: env.registryUrl };
    const adGroup = uniqueName('ad-bidding');
    const retGroup = uniqueName('retention');
    const ad = await startAdBiddingExample({ ...opts, topic: config.topics.migrations, groupId: adGroup });
    const ret = await startRetentionExample({ ...opts, topic: config.topics.churn, groupId: retGroup });
    // Committed offsets of a transactional topic stop short of its last commit marker, so wait
    // for what the examples have read rather than for their group offsets.
    const unique = new Set(migrations.map((m) => m.migrationId)).size;
    try {
      for (let t0 = Date.now(); ad.seen.size < unique || ret.records() < churn.length; await sleep(200)) {
        if (Date.now() - t0 > 60_000)
          throw new Error(`examples read ${ad.seen.size}/${unique}, ${ret.records()}/${churn.length}`);
      }
    } finally {
      await ad.stop();
      await ret.stop();
    }

    expect(ad.seen.size).toBe(new Set(migrations.map((m) => m.migrationId)).size);
    const lastTo = new Map<string, string[]>();
    for (const m of [...migrations].sort((a, b) => a.detectedAtEventTimeMs - b.detectedAtEventTimeMs)) {
      lastTo.set(
        m.userId,
        m.toCategories.map((c) => c.categoryId),
      );
    }
    expect(new Map(ad.boosts)).toEqual(lastTo);

    const closed = new Set<string>();
    for (const c of churn) {
      if (c.status === 'RESOLVED') closed.add(c.alertId);
      if (c.replacesAlertId) closed.add(c.replacesAlertId);
    }
    const expectedOpen = new Set(
      churn.filter((c) => c.status === 'RAISED' && !closed.has(c.alertId)).map((c) => c.alertId),
    );
    expect(new Set(ret.open.keys())).toEqual(expectedOpen);
  });
});
