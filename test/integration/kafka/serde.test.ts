/**
 * Serde against the REAL local Kafka broker and Apicurio registry (no mocks):
 * (a) a ClickstreamEvent framed through the registry survives produce → consume;
 * (b) a record written with an older schema version decodes with the current reader schema;
 * (d) unknown schema ids and undecodable bytes raise typed errors, not crashes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { isProcessorError } from '../../../src/shared/errors';
import type { ClickstreamEvent } from '../../../src/kafka/avro-types.gen';
import { ClickstreamEventSchema } from '../../../src/kafka/avro-types.gen';
import { AvroSerde, frame, readerType, valueSubject } from '../../../src/kafka/serde';
import { createRegistry } from '../../../src/kafka/clients';
import {
  createTestTopic,
  describeWithStack,
  readTopic,
  testKafka,
  testRegistry,
  uniqueName,
} from '../../support/stack';

const reader = readerType<ClickstreamEvent>(ClickstreamEventSchema);

function event(i: number): ClickstreamEvent {
  return {
    eventId: `e-${i}`,
    userId: `user-${i % 3}`,
    itemId: `item-${i}`,
    categoryId: `cat-${i % 5}`,
    eventType: 'CART',
    eventTimeMs: 1_511_544_070_000 + i,
    sessionId: i % 2 === 0 ? `s-${i}` : null,
    priceMinorUnits: i % 2 === 0 ? 1999 : null,
    currencyCode: i % 2 === 0 ? 'EUR' : null,
  };
}

async function decodeError(serde: AvroSerde, buf: Buffer): Promise<{ code: string; retriable: boolean }> {
  try {
    await serde.decode(buf, reader);
  } catch (e) {
    if (isProcessorError(e)) return { code: e.code, retriable: e.retriable };
    throw e;
  }
  throw new Error('decode accepted bad bytes');
}

describeWithStack('serde on the real broker and registry', (env) => {
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;

  beforeAll(async () => {
    kafka = testKafka(env);
    admin = kafka.admin();
    producer = kafka.producer();
    await admin.connect();
    await producer.connect();
  });

  afterAll(async () => {
    await producer.disconnect();
    await admin.disconnect();
  });

  it('(a) encodes through the registry, produces, consumes and decodes equal', async () => {
    const topic = await createTestTopic(admin, 'serde-roundtrip');
    const serde = new AvroSerde(testRegistry(env));
    const id = await serde.register(valueSubject(topic), ClickstreamEventSchema);
    const sent = [0, 1, 2, 3].map(event);
    await producer.send({
      topic,
      messages: sent.map((e) => ({ key: e.userId, value: serde.encode(id, e) })),
    });

    const got = await readTopic(kafka, topic, { count: sent.length });
    // A fresh serde: the writer schema must come from the registry by id, not from a local cache.
    const fresh = new AvroSerde(testRegistry(env));
    const decoded = await Promise.all(got.map((m) => fresh.decode(m.value, reader)));
    expect(decoded).toEqual(sent);
    expect(got.map((m) => m.key?.toString())).toEqual(sent.map((e) => e.userId));
  });

  it('(b) decodes a record written with the previous schema version using the current reader schema', async () => {
    const topic = await createTestTopic(admin, 'serde-evolution');
    const subject = valueSubject(topic);
    const v1Schema = JSON.parse(
      readFileSync(join(__dirname, '..', '..', 'fixtures', 'schemas', 'clickstream-event.v1.avsc'), 'utf8'),
    ) as object;
    const oldWriter = new AvroSerde(testRegistry(env));
    const v1Id = await oldWriter.register(subject, v1Schema);
    const v1Record = {
      eventId: 'old-1',
      userId: 'user-old',
      itemId: 'item-9',
      categoryId: 'cat-9',
      eventType: 'FAVORITE',
      eventTimeMs: 1_511_544_070_123,
    };
    await producer.send({ topic, messages: [{ key: 'user-old', value: oldWriter.encode(v1Id, v1Record) }] });

    // The current schema is a BACKWARD-compatible next version of the same subject.
    const current = new AvroSerde(testRegistry(env));
    const v2Id = await current.register(subject, ClickstreamEventSchema);
    expect(v2Id).not.toBe(v1Id);

    const [msg] = await readTopic(kafka, topic, { count: 1 });
    const decoded = await current.decode(msg?.value ?? null, reader);
    expect(decoded).toEqual({ ...v1Record, sessionId: null, priceMinorUnits: null, currencyCode: null });
  });

  it('(d) raises typed, non-retriable errors for an unknown schema id and for undecodable bytes', async () => {
    const topic = await createTestTopic(admin, 'serde-bad');
    const serde = new AvroSerde(testRegistry(env));
    const id = await serde.register(valueSubject(topic), ClickstreamEventSchema);
    const good = serde.encode(id, event(7));
    const bad: Record<string, Buffer> = {
      unknownSchemaId: frame(2_000_000_000, good.subarray(5)),
      truncated: good.subarray(0, good.length - 6),
      garbageBody: frame(id, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])),
      notFramed: Buffer.from('{"userId":"u1"}'),
      headerOnly: frame(id, Buffer.alloc(0)),
    };
    // Through the real broker, so the bytes are exactly what a consumer sees.
    await producer.send({ topic, messages: Object.entries(bad).map(([k, v]) => ({ key: k, value: v })) });
    const got = await readTopic(kafka, topic, { count: Object.keys(bad).length });
    const results: Record<string, { code: string; retriable: boolean }> = {};
    for (const m of got)
      results[m.key?.toString() ?? '?'] = await decodeError(serde, m.value ?? Buffer.alloc(0));

    expect(results).toEqual({
      unknownSchemaId: { code: 'DECODE_UNKNOWN_SCHEMA_ID', retriable: false },
      truncated: { code: 'DECODE_AVRO_INVALID', retriable: false },
      garbageBody: { code: 'DECODE_AVRO_INVALID', retriable: false },
      notFramed: { code: 'DECODE_BAD_MAGIC', retriable: false },
      headerOnly: { code: 'DECODE_AVRO_INVALID', retriable: false },
    });
    // The serde is still usable after the failures.
    await expect(serde.decode(good, reader)).resolves.toEqual(event(7));
  });

  it('reports an unreachable registry as retriable, not as a bad record', async () => {
    const serde = new AvroSerde(createRegistry({ url: 'http://127.0.0.1:1/apis/ccompat/v7', retries: 0 }));
    const err = await decodeError(serde, frame(42, Buffer.from([2, 97])));
    expect(err).toEqual({ code: 'REGISTRY_UNAVAILABLE', retriable: true });
    expect(uniqueName('x')).not.toBe(uniqueName('x'));
  });
});
