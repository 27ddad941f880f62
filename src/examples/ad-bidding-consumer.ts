/**
 * Example consumer, as the ad-bidding team would write it against our contracts alone
 * (schemas/asyncapi.yaml): only kafkajs and the registry client, nothing of interest-drift's code.
 *
 * It reads interest.migrations with read_committed (our outputs are transactional), decodes each
 * value through the schema registry, ignores a migration it has already seen (migrationId is
 * deterministic: a replay repeats ids) and keeps, per user, the categories the user moved to,
 * which a bidder would boost at bid time.
 *
 *   KAFKA_BROKERS=… SCHEMA_REGISTRY_URL=… npx tsx src/examples/ad-bidding-consumer.ts
 */
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Kafka, logLevel } from 'kafkajs';

export interface Migration {
  readonly migrationId: string;
  readonly userId: string;
  readonly detectedAtEventTimeMs: number;
  readonly fromCategories: readonly { readonly categoryId: string; readonly share: number }[];
  readonly toCategories: readonly { readonly categoryId: string; readonly share: number }[];
}

export interface AdBiddingExample {
  /** userId → the categories the user's interests moved to, most recent migration wins. */
  readonly boosts: ReadonlyMap<string, readonly string[]>;
  readonly seen: ReadonlySet<string>;
  stop(): Promise<void>;
}

export async function startAdBiddingExample(o: {
  brokers: string[];
  registryUrl: string;
  topic: string;
  groupId: string;
}): Promise<AdBiddingExample> {
  const kafka = new Kafka({ clientId: 'ad-bidding-example', brokers: o.brokers, logLevel: logLevel.ERROR });
  const registry = new SchemaRegistry({ host: o.registryUrl });
  const boosts = new Map<string, readonly string[]>();
  const latestAt = new Map<string, number>();
  const seen = new Set<string>();
  const consumer = kafka.consumer({ groupId: o.groupId, readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic: o.topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (!message.value) return;
      const m = (await registry.decode(message.value)) as Migration;
      if (seen.has(m.migrationId)) return; // a replayed migration
      seen.add(m.migrationId);
      if ((latestAt.get(m.userId) ?? -1) > m.detectedAtEventTimeMs) return;
      latestAt.set(m.userId, m.detectedAtEventTimeMs);
      boosts.set(
        m.userId,
        m.toCategories.map((c) => c.categoryId),
      );
    },
  });
  return {
    boosts,
    seen,
    stop: async () => {
      await consumer.disconnect();
    },
  };
}

if (require.main === module) {
  void startAdBiddingExample({
    brokers: (process.env.KAFKA_BROKERS ?? 'localhost:9092').split(','),
    registryUrl: process.env.SCHEMA_REGISTRY_URL ?? 'http://localhost:8081',
    topic: process.env.MIGRATIONS_TOPIC ?? 'interest.migrations',
    groupId: 'ad-bidding-example',
  }).then((ex) => {
    setInterval(
      () => process.stdout.write(`${ex.seen.size} migrations, ${ex.boosts.size} users boosted\n`),
      5_000,
    );
  });
}
