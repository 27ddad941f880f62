/**
 * `interest-drift demo` (what `make demo` runs on the embedded local stack):
 *   1. create the topics;
 *   2. replay a simulated day (seeded, with injected migrations and users who go quiet), the
 *      real Taobao users file when ../shared/data is present, and a handful of poison records;
 *   3. run the real processor (ONNX encoder, exactly-once transactions) until it has committed
 *      the whole input;
 *   4. read every output topic read_committed and print a summary.
 */
import { existsSync } from 'node:fs';
import { loadConfigWithDefaults } from '../shared/config';
import { createApp } from '../app/create-app';
import { createLogger, createPseudonymiser } from '../shared/logger';
import type { Args } from './args';
import { numberFlag, stringFlag } from './args';
import { waitCaughtUp } from '../kafka/caught-up';
import { churnReader, decodeAll, migrationReader, readCommitted } from '../kafka/output-reader';
import { formatChurn, formatMigration } from './format';
import { readDataset } from '../io/datasets';
import { replayRows } from '../kafka/replay-producer';
import { progressWriter } from './progress';
import { createKafka, createRegistry, kafkaClientOptions, registryClientOptions } from '../kafka/clients';
import { AvroSerde, frame } from '../kafka/serde';
import { setUpTopics } from '../kafka/topics';
import { simulate } from '../sim/simulator';

const DEFAULT_REAL_DATA = '../shared/data/taobao-userbehavior-users.csv.gz';

export async function runDemo(args: Args): Promise<number> {
  const config = loadConfigWithDefaults(
    { IDRIFT_LOG_LEVEL: 'warn', IDRIFT_HTTP_PORT: '0' },
    { modelFiles: true },
    'demo',
  );
  const logger = createLogger(config.logLevel);
  const say = (s: string): void => void process.stdout.write(`${s}\n`);
  const pseudonym = createPseudonymiser();
  const kafka = createKafka(kafkaClientOptions(config, '-demo'), logger);
  const serde = new AvroSerde(createRegistry(registryClientOptions(config)));
  await setUpTopics(kafka, config, { inputPartitions: config.kafka.inputPartitions, replicationFactor: 1 });

  say('== interest-drift demo ==');
  const sim = simulate({
    seed: numberFlag(args, 'seed', 7, { integer: true }),
    users: numberFlag(args, 'users', 3000, { min: 1, integer: true }),
    days: 1,
    activityScale: 4,
  });
  say(
    `simulated day: ${sim.rows.length} events from ${sim.migrations.length + sim.quiet.length + sim.stableUsers.length} users ` +
      `(${sim.migrations.length} with an injected interest migration, ${sim.quiet.length} who go quiet)`,
  );
  const progress = progressWriter('replay');
  const rows = [...sim.rows];
  const realPath = stringFlag(args, 'data') ?? DEFAULT_REAL_DATA;
  if (existsSync(realPath)) {
    const ds = await readDataset(realPath);
    say(
      `real data: ${ds.rows.length} Taobao events from ${new Set(ds.rows.map((r) => r.userId)).size} users (${realPath})`,
    );
    rows.push(...ds.rows);
  } else {
    say(`real data: ${realPath} not found, skipped`);
  }
  // One stream in event-time order, as a live clickstream would arrive (stable: ties keep order).
  rows.sort((a, b) => a.eventTimeMs - b.eventTimeMs);
  let total = await replayRows(kafka, serde, rows, {
    topic: config.topics.input,
    idPrefix: 'demo',
    onProgress: progress.update,
  });
  // Poison: each must land in the dead-letter topic with its reason, and processing go on.
  const producer = kafka.producer();
  await producer.connect();
  const poison = [
    { key: 'demo-poison-1', value: Buffer.from('{"not":"avro"}') },
    { key: 'demo-poison-2', value: frame(999_999_999, Buffer.from([2, 0x61])) },
    { key: 'demo-poison-3', value: frame(1, Buffer.from([0xff, 0xff, 0xff])) },
  ];
  await producer.send({ topic: config.topics.input, messages: poison });
  await producer.disconnect();
  total += poison.length;
  progress.done();
  say(`input: ${total} records in ${config.topics.input}`);

  const app = createApp(config, logger);
  const t0 = Date.now();
  await app.start();
  const caughtUpMs = await waitCaughtUp(kafka, config.appId, config.topics.input, 15 * 60_000);
  const elapsedMs = Date.now() - t0;
  // One user through the interest lookup API, as the ad-bidding service would ask at bid time
  // (the demo's single instance owns every partition, so it answers itself).
  const lookedUp = sim.migrations[0]?.userId ?? rows[0]?.userId ?? '';
  const lookup = await fetch(
    `http://127.0.0.1:${String(app.httpPort())}/v1/users/${encodeURIComponent(lookedUp)}/interests`,
  ).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
  await app.stop('demo finished');

  const migrations = await decodeAll(
    serde,
    await readCommitted(kafka, config.topics.migrations, 'demo-read'),
    migrationReader,
  );
  const churn = await decodeAll(
    serde,
    await readCommitted(kafka, config.topics.churn, 'demo-read'),
    churnReader,
  );
  const dlq = await readCommitted(kafka, config.topics.deadLetter, 'demo-read');
  const late = await readCommitted(kafka, config.topics.late, 'demo-read');
  const profiles = await readCommitted(kafka, config.topics.profiles, 'demo-read');
  const metrics = await app.metrics.registry.getMetricsAsJSON();
  const counter = (name: string): number =>
    (metrics.find((m) => m.name === name)?.values ?? []).reduce((s, v) => s + Number(v.value), 0);
  const processed = counter('idrift_events_processed_total');

  const simUsers = new Set(sim.migrations.map((m) => m.userId));
  const simHits = new Set(migrations.filter((m) => simUsers.has(m.userId)).map((m) => m.userId));
  const stable = new Set(sim.stableUsers);
  const stableAlerts = new Set(migrations.filter((m) => stable.has(m.userId)).map((m) => m.userId));
  const byLevel = new Map<string, number>();
  const raised = churn.filter((c) => c.status !== 'RESOLVED');
  const resolved = churn.filter((c) => c.status === 'RESOLVED');
  for (const c of raised) byLevel.set(c.level, (byLevel.get(c.level) ?? 0) + 1);
  const dlqReasons = new Map<string, number>();
  for (const m of dlq) {
    const code = m.headers?.['dlq.error.code']?.toString() ?? '?';
    dlqReasons.set(code, (dlqReasons.get(code) ?? 0) + 1);
  }

  say('');
  say('== summary ==');
  say(
    `events processed        ${processed} of ${total} input records (${counter('idrift_events_duplicate_total')} duplicates, ${counter('idrift_events_late_total')} late)`,
  );
  say(
    `throughput              ${((processed / elapsedMs) * 1000).toFixed(0)} events/s (start to caught up: ${(elapsedMs / 1000).toFixed(1)} s, incl. ${((elapsedMs - caughtUpMs) / 1000).toFixed(1)} s start-up)`,
  );
  const txn = (outcome: string): number =>
    (metrics.find((m) => m.name === 'idrift_transactions_total')?.values ?? [])
      .filter((v) => v.labels.outcome === outcome)
      .reduce((n, v) => n + Number(v.value), 0);
  say(`transactions            ${txn('committed')} committed, ${txn('aborted')} aborted`);
  say(
    `interest migrations     ${migrations.length} (simulated: ${simHits.size}/${simUsers.size} injected migrations caught, ${stableAlerts.size}/${stable.size} stable users alerted)`,
  );
  say(
    `churn alerts            raised ${
      [...byLevel.entries()]
        .sort()
        .map(([l, n]) => `${l} ${n}`)
        .join(', ') || 'none'
    }; resolved ${resolved.length} (user returned ${resolved.filter((c) => c.resolution === 'USER_RETURNED').length}, state evicted or erased ${resolved.filter((c) => c.resolution !== 'USER_RETURNED').length})`,
  );
  say(`profiles                ${profiles.length}`);
  say(
    `dead letters            ${dlq.length} (${[...dlqReasons.entries()].map(([c, n]) => `${c} ${n}`).join(', ')})`,
  );
  say(
    `late events             ${late.length} in ${config.topics.late} (original bytes, watermark in the headers)`,
  );
  say(
    `model                   ${app.metrics ? 'ONNX encoder' : ''} ${
      metrics
        .find((m) => m.name === 'idrift_execution_provider_info')
        ?.values.map((v) => `provider=${String(v.labels.provider)}`)
        .join(' ') ?? ''
    }`,
  );
  say('');
  say(`lookup                  GET /v1/users/${pseudonym(lookedUp)}/interests → HTTP ${lookup.status}`);
  say(
    JSON.stringify({ ...lookup.body, userId: pseudonym(lookedUp) }, null, 2)
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n'),
  );
  say('sample migrations:');
  for (const m of migrations.slice(0, 5)) say(`  ${formatMigration(m, pseudonym)}`);
  say('sample churn alerts:');
  for (const c of raised.filter((x) => x.level === 'HIGH').slice(0, 3)) say(`  ${formatChurn(c, pseudonym)}`);
  for (const c of resolved.slice(0, 2)) say(`  ${formatChurn(c, pseudonym)}`);
  return 0;
}
