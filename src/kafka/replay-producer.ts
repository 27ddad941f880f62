/**
 * Produces dataset rows into the input topic, in event-time order, as ClickstreamEvent in the
 * Confluent wire format (key = user id; record timestamp = produce time unless asked otherwise). Optional pacing replays
 * event time `speedup` times faster than real time; without it, as fast as the broker takes it.
 */
import type { Kafka } from 'kafkajs';
import type { DatasetRow } from '../io/datasets';
import { eventIdNamer } from '../io/event-ids';
import type { ClickstreamEvent } from './avro-types.gen';
import { ClickstreamEventSchema } from './avro-types.gen';
import type { AvroSerde } from './serde';
import { valueSubject } from './serde';

export interface ReplayOptions {
  readonly topic: string;
  /** Event-time speed-up factor; 0 or undefined = no pacing. */
  readonly speedup?: number;
  readonly batchSize?: number;
  /** Called about twice a second with (sent, total). */
  readonly onProgress?: (sent: number, total: number) => void;
  /** Prefix of generated event ids (keeps ids of different sources apart). */
  readonly idPrefix: string;
  /**
   * Record timestamps: 'produce' (default) stamps records when they are produced, as a live
   * storefront would, so time-based retention does not delete a replay of old data; 'event' sets
   * them to the event time (only on topics without time retention).
   */
  readonly recordTime?: 'produce' | 'event';
}

const EVENT_TYPE: Record<DatasetRow['kind'], ClickstreamEvent['eventType']> = {
  view: 'VIEW',
  click: 'CLICK',
  cart: 'CART',
  favorite: 'FAVORITE',
  purchase: 'PURCHASE',
};

export function toClickstreamEvent(row: DatasetRow, eventId: string): ClickstreamEvent {
  return {
    eventId,
    userId: row.userId,
    itemId: row.itemId,
    categoryId: row.categoryId,
    eventType: EVENT_TYPE[row.kind],
    eventTimeMs: row.eventTimeMs,
    sessionId: row.sessionId,
    priceMinorUnits: row.priceMinorUnits,
    currencyCode: row.priceMinorUnits === null ? null : 'USD',
  };
}

export async function replayRows(
  kafka: Kafka,
  serde: AvroSerde,
  rows: readonly DatasetRow[],
  o: ReplayOptions,
): Promise<number> {
  const schemaId = await serde.register(valueSubject(o.topic), ClickstreamEventSchema);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const eventId = eventIdNamer(o.idPrefix);
  const batchSize = o.batchSize ?? 1000;
  const t0 = Date.now();
  const first = rows[0]?.eventTimeMs ?? 0;
  let lastProgress = 0;
  try {
    for (let i = 0; i < rows.length; i += batchSize) {
      const chunk = rows.slice(i, i + batchSize);
      if (o.speedup && o.speedup > 0) {
        const due = t0 + ((chunk[0] as DatasetRow).eventTimeMs - first) / o.speedup;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const messages = chunk.map((row) => {
        const event = toClickstreamEvent(row, eventId(row));
        const value = serde.encode(schemaId, event);
        return o.recordTime === 'event'
          ? { key: row.userId, value, timestamp: String(row.eventTimeMs) }
          : { key: row.userId, value };
      });
      await producer.send({ topic: o.topic, messages, acks: -1 });
      if (o.onProgress && (Date.now() - lastProgress > 500 || i + batchSize >= rows.length)) {
        lastProgress = Date.now();
        o.onProgress(Math.min(rows.length, i + batchSize), rows.length);
      }
    }
  } finally {
    await producer.disconnect();
  }
  return rows.length;
}
