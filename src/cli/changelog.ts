/** `interest-drift changelog check [--partition P] [--tombstone]`: users whose latest state cannot be read. */
import { checkChangelog } from '../kafka/changelog-check';
import { createKafka, createRegistry, kafkaClientOptions, registryClientOptions } from '../kafka/clients';
import { AvroSerde } from '../kafka/serde';
import { loadConfig } from '../shared/config';
import { createLogger } from '../shared/logger';
import type { Args } from './args';
import { UsageError, stringFlag } from './args';
import { progressWriter } from './progress';

/** Wall-clock ms between progress lines. */
const PROGRESS_EVERY_MS = 1_000;

export async function runChangelog(args: Args): Promise<number> {
  if (args.positional[0] !== 'check') {
    throw new UsageError(
      "interest-drift changelog: the only action is 'check'\nSee 'interest-drift changelog --help'.",
    );
  }
  const raw = stringFlag(args, 'partition');
  if (raw !== undefined && !/^\d+$/.test(raw))
    throw new UsageError(`--partition should be a partition number, got '${raw}'`);
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const kafka = createKafka(kafkaClientOptions(config, '-changelog-check'), logger);
  const serde = new AvroSerde(createRegistry(registryClientOptions(config)));
  // Every value is decoded in full (about 20 µs each): a million users take some 20 s.
  const progress = progressWriter('changelog check: offsets read');
  let shownAt = 0;
  const summary = await checkChangelog(kafka, config.topics.userStateChangelog, serde, {
    partitions: raw === undefined ? undefined : [Number(raw)],
    tombstone: args.flags.has('tombstone'),
    groupPrefix: config.appId,
    onProgress: (read, total) => {
      const now = Date.now();
      if (now - shownAt < PROGRESS_EVERY_MS && read < total) return;
      shownAt = now;
      progress.update(Number(read), Number(total));
    },
  });
  progress.done();
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  const left = summary.unreadable.length - summary.tombstoned + summary.unreadableCheckpoints.length;
  return left > 0 ? 1 : 0;
}
