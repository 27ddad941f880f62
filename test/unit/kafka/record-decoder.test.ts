/**
 * The decoder's classification, brokerless: an in-memory registry stands in for the schema
 * lookup (the real registry is exercised by test/integration/kafka/serde.test.ts).
 */
import type { KafkaMessage } from 'kafkajs';
import * as avro from 'avsc';
import { ConfluentSchemaRegistryArgumentError } from '@kafkajs/confluent-schema-registry/dist/errors';
import { DEFAULT_LIMITS } from '../../../src/core/validate';
import type { ClickstreamEvent } from '../../../src/kafka/avro-types.gen';
import { ClickstreamEventSchema } from '../../../src/kafka/avro-types.gen';
import { decodeRecord, decodeRecordIfKnown, decodeRecordWithRetry } from '../../../src/kafka/record-decoder';
import type { RegistryClient } from '../../../src/kafka/serde';
import { AvroSerde, frame } from '../../../src/kafka/serde';

const T0 = Date.UTC(2026, 10, 1);

class MemoryRegistry {
  down = 0;
  readonly schemas = new Map<number, object>([[1, ClickstreamEventSchema]]);
  getSchema(id: number): Promise<unknown> {
    if (this.down > 0) {
      this.down--;
      return Promise.reject(Object.assign(new Error('registry down'), { status: 503 }));
    }
    const s = this.schemas.get(id);
    if (id === 77)
      return Promise.reject(new ConfluentSchemaRegistryArgumentError('no schema with key or ref'));
    if (id === 78) return Promise.resolve({ schema: () => ({ type: 'record', name: 'x', fields: 'oops' }) });
    if (!s) return Promise.reject(Object.assign(new Error('not found'), { status: 404 }));
    return Promise.resolve({ schema: () => s });
  }
  register(): Promise<{ id: number }> {
    return Promise.resolve({ id: 1 });
  }
}

const type = avro.Type.forSchema(ClickstreamEventSchema as unknown as avro.Schema);
const good: ClickstreamEvent = {
  eventId: 'e1',
  userId: 'u1',
  itemId: 'i1',
  categoryId: 'c1',
  eventType: 'VIEW',
  eventTimeMs: T0,
  sessionId: null,
  priceMinorUnits: null,
  currencyCode: null,
};

function message(key: string | null, value: Buffer | null, offset = '7'): KafkaMessage {
  return {
    key: key === null ? null : Buffer.from(key),
    value,
    offset,
    timestamp: String(T0),
    attributes: 0,
    size: 0,
    headers: {},
  } as unknown as KafkaMessage;
}

function setup(): { registry: MemoryRegistry; deps: Parameters<typeof decodeRecord>[1] } {
  const registry = new MemoryRegistry();
  const serde = new AvroSerde(registry as unknown as RegistryClient);
  return { registry, deps: { serde, limits: DEFAULT_LIMITS, maxRecordBytes: 10_000 } };
}

describe('record decoder', () => {
  it('decodes a valid event', async () => {
    const { deps } = setup();
    const r = await decodeRecord(message('u1', frame(1, type.toBuffer(good))), deps);
    expect(r).toMatchObject({
      kind: 'event',
      offset: '7',
      event: { eventId: 'e1', userId: 'u1', kind: 'view' },
    });
  });

  it('reads a null value with a key as an erasure of that user', async () => {
    const { deps } = setup();
    expect(await decodeRecord(message('u1', null), deps)).toEqual({
      kind: 'erase',
      offset: '7',
      userId: 'u1',
    });
  });

  it.each([
    ['no key and no value', message(null, null), 'DECODE_MISSING_VALUE', 'decode'],
    ['not wire format', message('u1', Buffer.from('{"a":1}')), 'DECODE_BAD_MAGIC', 'decode'],
    [
      'an unknown schema id',
      message('u1', frame(99, type.toBuffer(good))),
      'DECODE_UNKNOWN_SCHEMA_ID',
      'decode',
    ],
    ['truncated Avro', message('u1', frame(1, Buffer.from([0xff, 0xff]))), 'DECODE_AVRO_INVALID', 'decode'],
    [
      'a key that is not the user id',
      message('u2', frame(1, type.toBuffer(good))),
      'VALIDATE_FIELD_INVALID',
      'validate',
    ],
    ['too many bytes', message('u1', Buffer.alloc(20_000)), 'VALIDATE_OVERSIZE', 'validate'],
  ])('classifies %s as bad input with its code and stage', async (_what, m, code, stage) => {
    const { deps } = setup();
    const r = await decodeRecord(m, deps);
    expect(r.kind).toBe('invalid');
    if (r.kind === 'invalid') {
      expect(r.error.code).toBe(code);
      expect(r.stage).toBe(stage);
    }
  });

  it('classifies without waiting once the writer schema is held, as decodeRecord does', async () => {
    const { registry, deps } = setup();
    const valid = message('u1', frame(1, type.toBuffer(good)));
    expect(decodeRecordIfKnown(valid, deps)).toBeUndefined(); // schema 1 not fetched yet
    registry.down = 1;
    await expect(decodeRecord(valid, deps)).rejects.toMatchObject({ code: 'REGISTRY_UNAVAILABLE' });
    expect(decodeRecordIfKnown(valid, deps)).toBeUndefined();
    const fetched = await decodeRecord(valid, deps);
    expect(fetched.kind).toBe('event');
    expect(decodeRecordIfKnown(valid, deps)).toEqual(fetched);
    const others = [
      message('u1', null),
      message(null, null),
      message('u1', Buffer.from('{"a":1}')),
      message('u1', frame(1, Buffer.from([0xff, 0xff]))),
      message('u2', frame(1, type.toBuffer(good))),
      message('u1', Buffer.alloc(20_000)),
    ];
    for (const m of others) expect(decodeRecordIfKnown(m, deps)).toEqual(await decodeRecord(m, deps));
    // A schema id never fetched still needs the registry (which says it does not exist).
    const unknown = message('u1', frame(99, type.toBuffer(good)));
    expect(decodeRecordIfKnown(unknown, deps)).toBeUndefined();
    expect(await decodeRecord(unknown, deps)).toMatchObject({ error: { code: 'DECODE_UNKNOWN_SCHEMA_ID' } });
  });

  it('dead-letters a record whose schema id names a schema the client cannot parse, instead of retrying for ever', async () => {
    const { deps } = setup();
    // 77: what the registry client throws for a JSON Schema it cannot compile; 78: JSON avsc rejects.
    for (const id of [77, 78])
      expect(await decodeRecord(message('u1', frame(id, type.toBuffer(good))), deps)).toMatchObject({
        kind: 'invalid',
        error: { code: 'DECODE_SCHEMA_INCOMPATIBLE', retriable: false },
      });
  });

  it('rejects (never dead-letters) while the registry is unavailable, and a retry succeeds after', async () => {
    const { registry, deps } = setup();
    registry.down = 1;
    await expect(decodeRecord(message('u1', frame(1, type.toBuffer(good))), deps)).rejects.toMatchObject({
      code: 'REGISTRY_UNAVAILABLE',
      retriable: true,
    });
    registry.down = 2;
    const beats: number[] = [];
    const waits: number[] = [];
    const r = await decodeRecordWithRetry(message('u1', frame(1, type.toBuffer(good))), deps, {
      isRunning: () => true,
      heartbeat: () => Promise.resolve(void beats.push(1)),
      onRetry: (_e, delayMs) => void waits.push(delayMs),
    });
    expect(r.kind).toBe('event');
    expect(waits).toHaveLength(2);
    expect(beats).toHaveLength(2);
  });

  it('stops retrying once the consumer stops, with the dependency error', async () => {
    const { registry, deps } = setup();
    registry.down = 100;
    let running = true;
    await expect(
      decodeRecordWithRetry(message('u1', frame(1, type.toBuffer(good))), deps, {
        isRunning: () => running,
        heartbeat: () => Promise.resolve(),
        onRetry: () => (running = false),
      }),
    ).rejects.toMatchObject({ code: 'REGISTRY_UNAVAILABLE' });
  });
});
