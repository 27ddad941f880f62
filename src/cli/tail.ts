/** `interest-drift tail`: pretty-prints migrations and churn alerts as they commit. */
import { loadConfig } from '../shared/config';
import { createLogger, createPseudonymiser } from '../shared/logger';
import type { Args } from './args';
import { createKafka, createRegistry, kafkaClientOptions, registryClientOptions } from '../kafka/clients';
import { AvroSerde } from '../kafka/serde';
import { churnReader, migrationReader } from '../kafka/output-reader';
import { formatChurn, formatMigration } from './format';

export async function runTail(args: Args): Promise<number> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const pseudonym = createPseudonymiser(
    config.logPseudonymKey ? Buffer.from(config.logPseudonymKey) : undefined,
  );
  const kafka = createKafka(kafkaClientOptions(config, '-tail'), logger);
  const serde = new AvroSerde(createRegistry(registryClientOptions(config)));
  const consumer = kafka.consumer({
    groupId: `${config.appId}.tail.${process.pid}.${Date.now()}`,
    readUncommitted: false,
  });
  await consumer.connect();
  await consumer.subscribe({
    topics: [config.topics.migrations, config.topics.churn],
    fromBeginning: args.flags.has('from-beginning'),
  });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      if (!message.value) return;
      const line =
        topic === config.topics.migrations
          ? formatMigration(await serde.decode(message.value, migrationReader), pseudonym)
          : formatChurn(await serde.decode(message.value, churnReader), pseudonym);
      process.stdout.write(`${line}\n`);
    },
  });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await consumer.disconnect();
  return 0;
}
