/** `interest-drift dlq redrive`: re-publish chosen dead letters to the input after a fix. */
import { createKafka, kafkaClientOptions } from '../kafka/clients';
import { redriveDeadLetters } from '../kafka/dead-letter-redrive';
import { loadConfig } from '../shared/config';
import { createLogger } from '../shared/logger';
import type { Args } from './args';
import { UsageError, numberFlag, stringFlag } from './args';

function offsetFlag(args: Args, name: string): bigint | undefined {
  const v = stringFlag(args, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} should be an offset (a whole number), got '${v}'`);
  return BigInt(v);
}

export async function runDlq(args: Args): Promise<number> {
  if (args.positional[0] !== 'redrive') {
    throw new UsageError(
      "interest-drift dlq: the only action is 'redrive'\nSee 'interest-drift dlq --help'.",
    );
  }
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const kafka = createKafka(kafkaClientOptions(config, '-redrive'), logger);
  const partition = args.flags.has('source-partition')
    ? numberFlag(args, 'source-partition', 0, { min: 0, integer: true })
    : undefined;
  const summary = await redriveDeadLetters(
    kafka,
    config,
    {
      codes: (stringFlag(args, 'code') ?? '').split(',').filter((c) => c.length > 0),
      sourcePartition: partition,
      fromOffset: offsetFlag(args, 'from-offset'),
      toOffset: offsetFlag(args, 'to-offset'),
    },
    { dryRun: args.flags.has('dry-run') },
  );
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return 0;
}
