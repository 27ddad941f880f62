/**
 * Produces dataset rows into the input topic, in event-time order, as ClickstreamEvent in the
 * Confluent wire format (key = user id; record timestamp = produce time unless asked otherwise). Optional pacing replays
 * event time `speedup` times faster than real time; without it, as fast as the broker takes it.
 */
import type { Kafka } from 'kafkajs';
import { createHash } from 'node:crypto';
import type { DatasetRow } from './datasets';
import type { ClickstreamEvent } from '../kafka/avro-types.gen';
import { ClickstreamEventSchema } from '../kafka/avro-types.gen';
import type { AvroSerde } from '../kafka/serde';
import { valueSubject } from '../kafka/serde';

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

/** Deterministic event id of a row: replaying the same file yields the same ids. */
export function rowEventId(prefix: string, row: DatasetRow, occurrence: number): string {
  const h = createHash('sha256')
    .update(`${row.userId}|${row.itemId}|${row.categoryId}|${row.kind}|${row.eventTimeMs}|${occurrence}`)
    .digest('base64url')
    .slice(0, 22);
  return `${prefix}-${h}`;
}

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
  const seen = new Map<string, number>();
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
        const base = `${row.userId}|${row.itemId}|${row.kind}|${row.eventTimeMs}`;
        const occurrence = seen.get(base) ?? 0;
        seen.set(base, occurrence + 1);
        const event = toClickstreamEvent(row, rowEventId(o.idPrefix, row, occurrence));
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

/** A one-line progress bar for a terminal. */
export function progressBar(sent: number, total: number, width = 30): string {
  const f = total === 0 ? 1 : sent / total;
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${sent}/${total} (${(f * 100).toFixed(0)} %)`;
}
