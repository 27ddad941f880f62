/** `interest-drift replay`: a dataset file or a seeded simulation, produced to the input topic. */
import { loadConfig } from '../shared/config';
import { createLogger } from '../shared/logger';
import { DATASET_FORMATS, readDataset, readItemCategories } from '../io/datasets';
import type { DatasetFormat } from '../io/datasets';
import { replayRows } from '../kafka/replay-producer';
import { createKafka, createRegistry, kafkaClientOptions, registryClientOptions } from '../kafka/clients';
import { AvroSerde } from '../kafka/serde';
import { setUpTopics } from '../kafka/topics';
import { simulate } from '../sim/simulator';
import type { Args } from './args';
import { choiceFlag, numberFlag, stringFlag, UsageError } from './args';
import { progressWriter } from './progress';

export async function runReplay(args: Args): Promise<number> {
  const simulated = args.flags.has('simulate');
  const file = args.positional[0];
  if (simulated === (file !== undefined)) {
    throw new UsageError(
      "interest-drift replay: give either FILE or --simulate\nSee 'interest-drift replay --help'.",
    );
  }
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const kafka = createKafka(kafkaClientOptions(config, '-replay'), logger);
  await setUpTopics(kafka, config);
  let rows;
  let idPrefix: string;
  if (file === undefined) {
    const seed = numberFlag(args, 'seed', 7, { integer: true });
    const sim = simulate({
      seed,
      users: numberFlag(args, 'users', 2000, { min: 1, integer: true }),
      days: numberFlag(args, 'days', 1, { min: 0 }),
      activityScale: numberFlag(args, 'activity', 1, { min: 0 }),
    });
    rows = sim.rows;
    idPrefix = `sim${seed}`;
    process.stderr.write(
      `simulated ${rows.length} events: ${sim.migrations.length} migrating, ${sim.quiet.length} quiet users\n`,
    );
  } else {
    const props = stringFlag(args, 'item-properties');
    const itemCategories = props ? await readItemCategories(props.split(',')) : undefined;
    const ds = await readDataset(file, choiceFlag<DatasetFormat>(args, 'format', DATASET_FORMATS), {
      itemCategories,
    });
    rows = ds.rows.slice(0, numberFlag(args, 'limit', ds.rows.length, { min: 0, integer: true }));
    idPrefix = ds.format;
    process.stderr.write(`read ${ds.rows.length} ${ds.format} rows (${ds.skipped} unparseable skipped)\n`);
  }
  const serde = new AvroSerde(createRegistry(registryClientOptions(config)));
  const progress = progressWriter('replay');
  await replayRows(kafka, serde, rows, {
    topic: config.topics.input,
    speedup: numberFlag(args, 'speedup', 0, { min: 0 }),
    idPrefix,
    onProgress: progress.update,
  });
  progress.done();
  return 0;
}
