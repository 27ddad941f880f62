/**
 * A changelog value that no version of the state reads (a bug, a newer release, or a foreign
 * writer on our topic) is not an outage: the service stops with a non-zero exit code and names
 * the partitions and offsets, instead of restoring again and again or dropping those users unasked.
 * An unreadable value that a later value or tombstone of the same user superseded does not count.
 * `interest-drift changelog check` finds the unreadable users (also those whose value's body only
 * is damaged, which restore cannot see), and with --tombstone lets the service start again.
 */
import type { App } from '../../../src/app/create-app';
import { createApp } from '../../../src/app/create-app';
import { checkChangelog } from '../../../src/kafka/changelog-check';
import { AvroSerde } from '../../../src/kafka/serde';
import { createLogger } from '../../../src/shared/logger';
import { encodeEntry } from '../../../src/state/changelog-entry';
import { encodeState } from '../../../src/state/state-codec';
import { simulate } from '../../../src/sim/simulator';
import { replayRows } from '../../../src/kafka/replay-producer';
import { createTopicsFor, harnessConfig, runUntilCaughtUp } from '../../support/processor-harness';
import { describeWithStack, testKafka, testRegistry } from '../../support/stack';
import { upgradeWorkloadStates } from '../../support/upgrade-workload';

jest.setTimeout(180_000);

describeWithStack('a changelog value no state version reads', (env) => {
  let app: App | null = null;
  afterAll(async () => {
    await app?.stop('test done');
  });

  it('stops the service naming partitions and offsets; `changelog check --tombstone` lets it start again', async () => {
    const kafka = testKafka(env);
    const serde = new AvroSerde(testRegistry(env));
    const config = harnessConfig(env, 'corrupt-changelog');
    const topic = config.topics.userStateChangelog;
    await createTopicsFor(kafka, config);
    const [[, state]] = [...(await upgradeWorkloadStates())] as [[string, Parameters<typeof encodeState>[0]]];
    const good = Buffer.from(encodeEntry(encodeState(state), 0n));
    const garbage = Buffer.from([0x42, 1, 2, 3]);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [
        ...[0, 1, 2].map((partition) => ({ key: `user-corrupt-${partition}`, value: garbage, partition })),
        // Superseded: by a tombstone, and by a readable value.
        { key: 'user-gone', value: garbage, partition: 2 },
        { key: 'user-gone', value: null, partition: 2 },
        { key: 'user-fixed', value: garbage, partition: 1 },
        { key: 'user-fixed', value: good, partition: 1 },
        // Header intact, body cut short: restore keeps it, only a full decode sees it.
        { key: 'user-damaged', value: good.subarray(0, good.length - 40), partition: 0 },
      ],
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
    app = null;
    expect(outcome).toBe(1);
    const log = lines.join('\n');
    expect(log).toContain('CHANGELOG_UNREADABLE');
    // Each partition restores on its own; the first that fails stops the service.
    expect(log).toMatch(
      /partition [012]: 1 \(offset 0: changelog value of unknown format \(first byte 66\)\)/,
    );
    expect(log).toContain('interest-drift changelog check');
    // Partitions, offsets and reasons; never the users.
    expect(log).not.toMatch(/user-(corrupt-[012]|gone|fixed|damaged)/);

    const progress: [bigint, bigint][] = [];
    const found = await checkChangelog(kafka, topic, serde, {
      tombstone: false,
      groupPrefix: config.appId,
      onProgress: (read, total) => progress.push([read, total]),
    });
    expect(found.records).toBe(8);
    // Offsets read grow to the total, which stays the end offsets taken at the start (8 records
    // here, plus the transaction markers of whatever wrote them transactionally).
    const totals = new Set(progress.map(([, total]) => total));
    expect(totals.size).toBe(1);
    expect(progress.map(([read]) => read)).toEqual(
      [...progress.map(([read]) => read)].sort((a, b) => (a < b ? -1 : 1)),
    );
    expect(progress[progress.length - 1]?.[0] ?? 0n).toBeGreaterThanOrEqual(8n);
    expect(progress[progress.length - 1]?.[0]).toBeLessThanOrEqual([...totals][0] as bigint);
    expect(found.unreadable.map((r) => [r.partition, r.offset])).toEqual([
      [0, '0'],
      [0, '1'],
      [1, '0'],
      [2, '0'],
    ]);
    expect(found.unreadable[1]?.reason).toMatch(/truncated state value/);
    expect(found.tombstoned).toBe(0);
    expect(JSON.stringify(found)).not.toMatch(/user-(corrupt-[012]|gone|fixed|damaged)/);

    const fixed = await checkChangelog(kafka, topic, serde, { tombstone: true, groupPrefix: config.appId });
    expect(fixed.tombstoned).toBe(4);
    const after = await checkChangelog(kafka, topic, serde, { tombstone: false, groupPrefix: config.appId });
    expect(after.unreadable).toEqual([]);
    expect(after.records).toBe(12);

    // The service restores and processes again.
    const rows = simulate({ seed: 3, users: 20, days: 1 }).rows.slice(0, 200);
    await replayRows(kafka, serde, rows, { topic: config.topics.input, idPrefix: 'c' });
    await runUntilCaughtUp(kafka, config);
  });
});
