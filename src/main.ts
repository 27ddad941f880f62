#!/usr/bin/env node
/**
 * interest-drift CLI.
 *
 *   interest-drift run                      the stream processor (config from IDRIFT_* variables)
 *   interest-drift replay FILE [--format taobao|rees46|retailrocket] [--item-properties F1,F2] [--speedup X] [--limit N]
 *   interest-drift replay --simulate [--users N] [--days D] [--seed S] [--activity K]
 *   interest-drift tail [--from-beginning]  pretty-print migrations and churn alerts
 *   interest-drift demo                     replay + run + summary on the configured stack
 *   interest-drift eval [--data FILE [--users test]] [--simulate]   offline evaluation report (no Kafka)
 *
 * Exit codes: 0 clean stop, 1 fatal error, 2 bad configuration or usage.
 */
import { loadConfig } from './app/config';
import { createApp } from './app/create-app';
import { describeError, isProcessorError } from './app/errors';
import { createLogger } from './app/logger';
import { parseArgs, numberFlag, stringFlag } from './cli/args';
import type { Args } from './cli/args';
import { runDemo } from './cli/demo';
import { runEval } from './cli/eval';
import { runTail } from './cli/tail';
import { readDataset, readItemCategories } from './io/datasets';
import type { DatasetFormat } from './io/datasets';
import { progressBar, replayRows } from './io/replay';
import { createKafka, createRegistry, kafkaClientOptions, registryClientOptions } from './kafka/clients';
import { AvroSerde } from './kafka/serde';
import { ensureTopics, topicConfigs } from './kafka/topics';
import { simulate } from './sim/simulator';

async function run(): Promise<number> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const app = createApp(config, logger);
  const onSignal = (sig: string): void => {
    logger.info('signal received', { signal: sig });
    void app.stop(sig);
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.on('unhandledRejection', (e) => {
    logger.error('unhandled rejection', { error: describeError(e) });
    void app.stop('unhandled rejection');
  });
  await app.start();
  return app.done;
}

async function replay(args: Args): Promise<number> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const kafka = createKafka(kafkaClientOptions(config, '-replay'), logger);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(
    admin,
    topicConfigs(config, {
      inputPartitions: config.kafka.inputPartitions,
      replicationFactor: config.kafka.replicationFactor,
    }),
  );
  await admin.disconnect();
  let rows;
  let idPrefix: string;
  if (args.flags.has('simulate')) {
    const seed = numberFlag(args, 'seed', 7);
    const sim = simulate({
      seed,
      users: numberFlag(args, 'users', 2000),
      days: numberFlag(args, 'days', 1),
      activityScale: numberFlag(args, 'activity', 1),
    });
    rows = sim.rows;
    idPrefix = `sim${seed}`;
    process.stderr.write(
      `simulated ${rows.length} events: ${sim.migrations.length} migrating, ${sim.quiet.length} quiet users\n`,
    );
  } else {
    const file = args.positional[1];
    if (!file) throw new Error('replay needs a FILE or --simulate');
    const props = stringFlag(args, 'item-properties');
    const itemCategories = props ? await readItemCategories(props.split(',')) : undefined;
    const ds = await readDataset(file, stringFlag(args, 'format') as DatasetFormat | undefined, {
      itemCategories,
    });
    rows = ds.rows.slice(0, numberFlag(args, 'limit', ds.rows.length));
    idPrefix = ds.format;
    process.stderr.write(`read ${ds.rows.length} ${ds.format} rows (${ds.skipped} unparseable skipped)\n`);
  }
  const serde = new AvroSerde(createRegistry(registryClientOptions(config)));
  const tty = process.stderr.isTTY;
  await replayRows(kafka, serde, rows, {
    topic: config.topics.input,
    speedup: numberFlag(args, 'speedup', 0),
    idPrefix,
    onProgress: (sent, total) =>
      process.stderr.write(`${tty ? '\r' : ''}replay ${progressBar(sent, total)}${tty ? '' : '\n'}`),
  });
  if (tty) process.stderr.write('\n');
  return 0;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  switch (args.positional[0]) {
    case 'run':
      return run();
    case 'replay':
      return replay(args);
    case 'tail':
      return runTail(args);
    case 'demo':
      return runDemo(args);
    case 'eval':
      return runEval(args);
    default:
      process.stderr.write('usage: interest-drift run | replay FILE|--simulate | tail | demo | eval\n');
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${describeError(e)}\n`);
    process.exit(isProcessorError(e) && e.code === 'CONFIG_INVALID' ? 2 : 1);
  },
);
