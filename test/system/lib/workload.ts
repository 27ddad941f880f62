/**
 * Input of a system-test scenario: a seeded simulated clickstream (≥ 5,000 users), with planted
 * user ids for the privacy check, and optional poison records, duplicates and erasures. Every
 * record is encoded once up front; the driver then produces them at a fixed rate.
 */
import type { IHeaders } from 'kafkajs';
import type { DatasetRow } from '../../../src/io/datasets';
import { eventIdNamer } from '../../../src/io/event-ids';
import { toClickstreamEvent } from '../../../src/kafka/replay-producer';
import type { ClickstreamEvent } from '../../../src/kafka/avro-types.gen';
import { ClickstreamEventSchema } from '../../../src/kafka/avro-types.gen';
import type { AvroSerde } from '../../../src/kafka/serde';
import { frame, valueSubject } from '../../../src/kafka/serde';
import { rng, simulate } from '../../../src/sim/simulator';

export interface InputRecord {
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers?: IHeaders;
}

export interface Workload {
  readonly records: InputRecord[];
  /** Good events (not poison, not duplicates, not tombstones). */
  readonly events: number;
  readonly users: number;
  /** Planted user ids: they must never show up in logs, metric labels or dead-letter headers. */
  readonly planted: string[];
  readonly poison: { kind: string; index: number }[];
  readonly duplicates: number;
  readonly erased: string[];
}

export interface WorkloadOptions {
  readonly seed: number;
  readonly users: number;
  readonly days: number;
  /** Share of poison records (0 = none). */
  readonly poisonRate?: number;
  /** Users to erase with a tombstone after their last event. */
  readonly erase?: number;
}

export const POISON_KINDS = [
  'bad magic byte',
  'unknown schema id',
  'truncated avro',
  'wrong types',
  'missing user id',
  'unknown event type',
  '+10-year timestamp',
  'negative timestamp',
  'oversize record',
  'key does not match user id',
  'duplicate event id',
] as const;

/** Planted ids look like nothing else in the data, so a grep finds every leak. */
export function plantedId(seed: number, i: number): string {
  return `PLANTED-${seed}-${i}-q7z`;
}

export async function buildWorkload(serde: AvroSerde, topic: string, o: WorkloadOptions): Promise<Workload> {
  const sim = simulate({ seed: o.seed, users: o.users, days: o.days, userPrefix: `sys${o.seed}` });
  const planted: string[] = [];
  const rename = new Map<string, string>();
  const userIds = [...new Set(sim.rows.map((r) => r.userId))];
  userIds.forEach((u, i) => {
    if (i % 250 === 0) {
      const p = plantedId(o.seed, i);
      rename.set(u, p);
      planted.push(p);
    }
  });
  const rows: DatasetRow[] = sim.rows.map((r) => {
    const p = rename.get(r.userId);
    return p ? { ...r, userId: p } : r;
  });
  const id = await serde.register(valueSubject(topic), ClickstreamEventSchema);
  const eventId = eventIdNamer(`sys${o.seed}`);
  const records: InputRecord[] = [];
  const events: ClickstreamEvent[] = [];
  for (const row of rows) {
    const event = toClickstreamEvent(row, eventId(row));
    events.push(event);
    records.push({ key: row.userId, value: serde.encode(id, event) });
  }
  const poison: { kind: string; index: number }[] = [];
  let duplicates = 0;
  if (o.poisonRate && o.poisonRate > 0) {
    const wrongTypesId = await serde.register(`${topic}-wrong-types-value`, {
      type: 'record',
      name: 'ClickstreamEvent',
      namespace: 'com.interestdrift.events',
      fields: [
        { name: 'eventId', type: 'long' },
        { name: 'userId', type: 'long' },
      ],
    });
    const r = rng(o.seed * 31 + 7);
    const out: InputRecord[] = [];
    let k = 0;
    records.forEach((rec, i) => {
      out.push(rec);
      if (r() >= (o.poisonRate as number)) return;
      const kind = POISON_KINDS[k++ % POISON_KINDS.length] as (typeof POISON_KINDS)[number];
      const e = events[i] as ClickstreamEvent;
      const valid = rec.value as Buffer;
      const bad = (value: Buffer | null, key: string | null = e.userId): InputRecord => ({
        key,
        value,
        headers: { 'poison.kind': kind },
      });
      let p: InputRecord;
      switch (kind) {
        case 'bad magic byte':
          p = bad(Buffer.concat([Buffer.from([7]), valid.subarray(1)]));
          break;
        case 'unknown schema id':
          p = bad(frame(1_999_999_999, valid.subarray(5)));
          break;
        case 'truncated avro':
          p = bad(valid.subarray(0, Math.max(6, valid.length - 6)));
          break;
        case 'wrong types':
          p = bad(serde.encode(wrongTypesId, { eventId: 42, userId: 42 }));
          break;
        case 'missing user id':
          p = bad(serde.encode(id, { ...e, userId: '', eventId: `${e.eventId}-m` }), null);
          break;
        case 'unknown event type':
          p = bad(serde.encode(id, { ...e, eventType: 'UNKNOWN', eventId: `${e.eventId}-u` }));
          break;
        case '+10-year timestamp':
          p = bad(
            serde.encode(id, {
              ...e,
              eventTimeMs: Date.now() + 10 * 365 * 86_400_000,
              eventId: `${e.eventId}-f`,
            }),
          );
          break;
        case 'negative timestamp':
          p = bad(serde.encode(id, { ...e, eventTimeMs: -1_000, eventId: `${e.eventId}-n` }));
          break;
        case 'oversize record':
          p = bad(serde.encode(id, { ...e, itemId: 'x'.repeat(80_000), eventId: `${e.eventId}-o` }));
          break;
        case 'key does not match user id':
          p = bad(valid, `${e.userId}-other`);
          break;
        case 'duplicate event id':
          // The same event again (a producer retry, say): dedup drops it and counts it; it is
          // not bad data, so it must NOT reach the dead-letter topic.
          p = { key: rec.key, value: valid, headers: { 'poison.kind': kind } };
          duplicates++;
          break;
      }
      poison.push({ kind, index: out.length });
      out.push(p);
    });
    // Copy in a loop: spreading ~10^5 items into push() overflows the call stack.
    records.length = 0;
    for (const r of out) records.push(r);
  }
  const erased: string[] = [];
  if (o.erase && o.erase > 0) {
    // Users whose history ends before the last third of the stream: tombstone them there.
    const last = new Map<string, number>();
    records.forEach((rec, i) => {
      if (rec.key && rec.value) last.set(rec.key, i);
    });
    const cut = Math.floor((records.length * 2) / 3);
    for (const [u, i] of last) {
      if (erased.length >= o.erase) break;
      if (i < cut / 2) erased.push(u);
    }
    const tombstones = erased.map((u) => ({ key: u, value: null, headers: { 'erase.user': 'yes' } }));
    records.splice(cut, 0, ...tombstones);
  }
  return {
    records,
    events: events.length,
    users: userIds.length,
    planted,
    poison,
    duplicates,
    erased,
  };
}
