/**
 * `interest-drift tail`: pretty-prints migrations and churn alerts as they commit. A record it
 * cannot show gets a line naming its position and error code, and the tail goes on; a consumer
 * that crashes for good ends the command with exit code 1 (it waited for a signal for ever).
 */
import { loadConfig } from '../shared/config';
import { createLogger, createPseudonymiser } from '../shared/logger';
import type { Args } from './args';
import { createKafka, createRegistry, kafkaClientOptions, registryClientOptions } from '../kafka/clients';
import { AvroSerde } from '../kafka/serde';
import { churnReader, migrationReader } from '../kafka/output-reader';
import { formatChurn, formatMigration } from './format';
import { describeError, isProcessorError } from '../shared/errors';

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
  const crashed = new Promise<number>((resolve) =>
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (payload.restart) return;
      logger.error('tail: the consumer stopped', { error: describeError(payload.error) });
      resolve(1);
    }),
  );
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      const notShown = (why: string): string =>
        `! ${topic} partition ${partition} offset ${message.offset}: not shown (${why})`;
      let line: string;
      try {
        line =
          topic === config.topics.migrations
            ? formatMigration(await serde.decode(message.value, migrationReader), pseudonym)
            : formatChurn(await serde.decode(message.value, churnReader), pseudonym);
      } catch (e) {
        if (isProcessorError(e) && e.isBadRecord) line = notShown(e.code);
        // A record that decodes but does not format (a time no date holds: RangeError).
        else if (e instanceof RangeError) line = notShown(e.name);
        else throw e;
      }
      process.stdout.write(`${line}\n`);
    },
  });
  const signalled = new Promise<number>((resolve) => {
    process.once('SIGINT', () => resolve(0));
    process.once('SIGTERM', () => resolve(0));
  });
  const code = await Promise.race([signalled, crashed]);
  await consumer.disconnect();
  return code;
}
