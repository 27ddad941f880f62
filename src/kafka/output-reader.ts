/** Reads the service's output topics (read_committed) and decodes them: for `tail`, `demo` and tests. */
import type { Kafka, KafkaMessage } from 'kafkajs';
import { assertReadComplete, readToEnd } from './read-to-end';
import type { ChurnRisk, InterestMigration, InterestProfile } from './avro-types.gen';
import { ChurnRiskSchema, InterestMigrationSchema, InterestProfileSchema } from './avro-types.gen';
import type { AvroSerde } from './serde';
import { readerType } from './serde';

export const migrationReader = readerType<InterestMigration>(InterestMigrationSchema);
export const churnReader = readerType<ChurnRisk>(ChurnRiskSchema);
export const profileReader = readerType<InterestProfile>(InterestProfileSchema);

export interface TopicSnapshot {
  readonly messages: KafkaMessage[];
}

/** A record read back, with the partition it came from. */
export type ReadMessage = KafkaMessage & { readonly partition: number };

/** Reads every committed record of `topic` up to its end offsets at call time; throws when it cannot. */
export async function readCommitted(
  kafka: Kafka,
  topic: string,
  groupPrefix: string,
  timeoutMs = 60_000,
): Promise<ReadMessage[]> {
  const out: ReadMessage[] = [];
  const res = await readToEnd(kafka, {
    topic,
    groupId: `${groupPrefix}.${Date.now()}.${Math.random()}`,
    timeoutMs,
    onBatch: (partition, messages) => {
      out.push(...messages.map((m) => ({ ...m, partition })));
    },
  });
  assertReadComplete(res, `topic ${topic}`);
  return out;
}

export async function decodeAll<T>(
  serde: AvroSerde,
  messages: KafkaMessage[],
  reader: ReturnType<typeof readerType<T>>,
): Promise<T[]> {
  const out: T[] = [];
  for (const m of messages) if (m.value) out.push(await serde.decode(m.value, reader));
  return out;
}
