/** `interest-drift inspect USER`: one user's committed state, read from the changelog, as JSON on stdout. */
import { summariseState } from '../core/state-summary';
import { createKafka, createRegistry, kafkaClientOptions, registryClientOptions } from '../kafka/clients';
import { AvroSerde } from '../kafka/serde';
import { readUserState } from '../kafka/state-lookup';
import { loadConfig } from '../shared/config';
import { createLogger } from '../shared/logger';
import type { Args } from './args';
import { UsageError } from './args';

export async function runInspect(args: Args): Promise<number> {
  const userId = args.positional[0];
  if (!userId)
    throw new UsageError("interest-drift inspect: USER is required\nSee 'interest-drift inspect --help'.");
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const kafka = createKafka(kafkaClientOptions(config, '-inspect'), logger);
  const serde = new AvroSerde(createRegistry(registryClientOptions(config)));
  const state = await readUserState(kafka, serde, config, userId);
  if (!state) {
    process.stderr.write('no state for this user in the changelog (never seen, erased or expired)\n');
    return 1;
  }
  process.stdout.write(`${JSON.stringify(summariseState(state), null, 2)}\n`);
  return 0;
}
