/**
 * Example consumer, as the retention team would write it against our contracts alone
 * (schemas/asyncapi.yaml): only kafkajs and the registry client.
 *
 * It reads churn.risk with read_committed and keeps the set of open alerts: a RAISED record opens
 * alert `alertId` and closes the one it replaces (`replacesAlertId`); a RESOLVED record closes
 * `alertId`. Records are idempotent by alertId, so a replay leaves the same set.
 *
 *   KAFKA_BROKERS=… SCHEMA_REGISTRY_URL=… npx tsx src/examples/retention-consumer.ts
 */
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Kafka, logLevel } from 'kafkajs';

export interface ChurnAlert {
  readonly alertId: string;
  readonly userId: string;
  readonly level: string;
  /** Absent in records written before 0.2.0 (read as RAISED by the schema's default). */
  readonly status: string;
  readonly replacesAlertId: string | null;
}

export interface RetentionExample {
  /** alertId → the open alert. */
  readonly open: ReadonlyMap<string, ChurnAlert>;
  readonly closed: ReadonlySet<string>;
  /** Records read so far. */
  records(): number;
  stop(): Promise<void>;
}

export async function startRetentionExample(o: {
  brokers: string[];
  registryUrl: string;
  topic: string;
  groupId: string;
}): Promise<RetentionExample> {
  const kafka = new Kafka({ clientId: 'retention-example', brokers: o.brokers, logLevel: logLevel.ERROR });
  const registry = new SchemaRegistry({ host: o.registryUrl });
  const open = new Map<string, ChurnAlert>();
  const closed = new Set<string>();
  let records = 0;
  const consumer = kafka.consumer({ groupId: o.groupId, readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic: o.topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (!message.value) return;
      const a = (await registry.decode(message.value)) as ChurnAlert;
      records++;
      if (a.status === 'RESOLVED') {
        open.delete(a.alertId);
        closed.add(a.alertId);
        return;
      }
      if (a.replacesAlertId) {
        open.delete(a.replacesAlertId);
        closed.add(a.replacesAlertId);
      }
      if (!closed.has(a.alertId)) open.set(a.alertId, a);
    },
  });
  return {
    open,
    closed,
    records: () => records,
    stop: async () => {
      await consumer.disconnect();
    },
  };
}

if (require.main === module) {
  void startRetentionExample({
    brokers: (process.env.KAFKA_BROKERS ?? 'localhost:9092').split(','),
    registryUrl: process.env.SCHEMA_REGISTRY_URL ?? 'http://localhost:8081',
    topic: process.env.CHURN_TOPIC ?? 'churn.risk',
    groupId: 'retention-example',
  }).then((ex) => {
    setInterval(
      () => process.stdout.write(`${ex.open.size} open churn alerts, ${ex.closed.size} closed\n`),
      5_000,
    );
  });
}
