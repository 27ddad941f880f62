import type { InterestProfile } from '../../../src/core/types';
import { buildTopicMessages, keyValueBytes, splitBySize } from '../../../src/kafka/output-transaction';
import { MAX_REQUEST_BYTES } from '../../../src/kafka/record-size';
import { ProcessorError } from '../../../src/shared/errors';
import type { KafkaMessage } from 'kafkajs';
import type { AvroSerde } from '../../../src/kafka/serde';
import { loadConfig } from '../../../src/shared/config';

describe('splitBySize', () => {
  it('keeps every message, in order, in requests under the byte budget', () => {
    const big = Buffer.alloc(300);
    const input = [
      { topic: 'a', messages: Array.from({ length: 10 }, (_, i) => ({ key: `a${i}`, value: big })) },
      { topic: 'b', messages: Array.from({ length: 3 }, (_, i) => ({ key: `b${i}`, value: null })) },
    ];
    const requests = splitBySize(input, 1000);
    expect(requests.length).toBeGreaterThan(3);
    const flat = requests.flatMap((r) =>
      r.flatMap((t) => t.messages.map((m) => `${t.topic}:${String(m.key)}`)),
    );
    expect(flat).toEqual([
      ...input[0]!.messages.map((m) => `a:${m.key}`),
      ...input[1]!.messages.map((m) => `b:${m.key}`),
    ]);
    for (const r of requests) {
      const bytes = r.reduce(
        (n, t) => n + t.messages.reduce((k, m) => k + 64 + String(m.key).length + (m.value?.length ?? 0), 0),
        0,
      );
      expect(bytes).toBeLessThanOrEqual(1000);
    }
  });
});

describe('splitBySize with headers', () => {
  it("counts the headers: 2,000 small dead letters do not make one request over the broker's 1 MiB", () => {
    const config = loadConfig({ IDRIFT_KAFKA_BROKERS: 'k:9092', IDRIFT_SCHEMA_REGISTRY_URL: 'http://r' });
    const chunk: KafkaMessage[] = Array.from({ length: 2000 }, (_, i) => ({
      key: Buffer.from(`user-${i}`),
      value: Buffer.from('{"json":"not avro"}'),
      offset: String(i),
      timestamp: '1764400000000',
      attributes: 0,
      headers: { 'trace-id': Buffer.from('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01') },
    }));
    const error = new ProcessorError('DECODE_BAD_MAGIC', 'magic byte is 123, expected 0');
    const messages = buildTopicMessages(
      {
        outputs: [],
        deadLetters: chunk.map((m) => ({ offset: m.offset, error, stage: 'decode' as const })),
        lateEvents: [],
      },
      chunk,
      new Map(),
      null,
      {
        config,
        serde: {} as AvroSerde,
        schemaIds: { migration: 1, churn: 2, profile: 3 },
        partition: 0,
        modelVersion: 'model-2026-11-28',
        nowMs: 1_764_400_000_000,
      },
    );
    const requests = splitBySize(messages, MAX_REQUEST_BYTES);
    expect(requests.length).toBeGreaterThan(1);
    // The size of each request's record batch as Kafka frames it (varints, so below this bound).
    for (const r of requests) {
      let bytes = 0;
      for (const t of r) {
        for (const m of t.messages) {
          bytes += 21 + (m.key?.length ?? 0) + (m.value?.length ?? 0);
          for (const [k, v] of Object.entries(m.headers ?? {})) bytes += 2 + k.length + String(v).length;
        }
      }
      expect(bytes).toBeLessThan(1024 * 1024);
    }
  });
});

describe('keyValueBytes', () => {
  it('counts the keys (UTF-8) and values of one topic, tombstones by their key alone', () => {
    const input = [
      { topic: 'changelog', messages: [{ key: 'ü1', value: Buffer.alloc(10) }] },
      { topic: 'profiles', messages: [{ key: 'p', value: Buffer.alloc(100) }] },
      { topic: 'changelog', messages: [{ key: 'ab', value: null }] },
    ];
    expect(keyValueBytes(input, 'changelog')).toBe(3 + 10 + 2);
    expect(keyValueBytes(input, 'profiles')).toBe(101);
    expect(keyValueBytes(input, 'none')).toBe(0);
  });
});

describe('buildTopicMessages', () => {
  it("hands the serializer a copy of a profile's embedding, never the user's state vector", () => {
    // avsc's array writer, optimised for arrays of strings too, boxes every double array it reads
    // (a V8 elements-kind transition on load): the state's vector must not be the one it reads.
    const embedding = [0.25, -0.5, 0.125];
    const profile = { userId: 'u1', embedding } as unknown as InterestProfile;
    const encoded: unknown[] = [];
    const serde = {
      encode: (_id: number, v: unknown) => {
        encoded.push(v);
        return Buffer.alloc(1);
      },
    } as unknown as AvroSerde;
    const config = loadConfig({
      IDRIFT_KAFKA_BROKERS: 'localhost:9092',
      IDRIFT_SCHEMA_REGISTRY_URL: 'http://localhost:8081',
    });
    const topics = buildTopicMessages(
      { outputs: [{ kind: 'profile', key: 'u1', value: profile }], deadLetters: [], lateEvents: [] },
      [],
      new Map(),
      null,
      {
        config,
        serde,
        schemaIds: { migration: 1, churn: 2, profile: 3 },
        partition: 0,
        modelVersion: 'm',
        nowMs: 0,
      },
    );
    expect(topics.map((t) => t.topic)).toEqual([config.topics.profiles]);
    const sent = encoded[0] as InterestProfile;
    expect(sent.embedding).toEqual(embedding);
    expect(sent.embedding).not.toBe(embedding);
    expect({ ...sent, embedding: null }).toEqual({ ...profile, embedding: null });
  });
});
