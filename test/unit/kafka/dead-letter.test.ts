import type { KafkaMessage } from 'kafkajs';
import { DeadLetterHeaders, DeadLetterOriginalHeaderPrefix } from '../../../src/kafka/avro-types.gen';
import { randomBytes } from 'node:crypto';
import {
  DEAD_LETTER_MAX_BYTES,
  TRUNCATED_PREFIX_BYTES,
  deadLetterMessage,
} from '../../../src/kafka/dead-letter';
import { ProcessorError } from '../../../src/shared/errors';

const original = {
  key: Buffer.from('user-1'),
  value: Buffer.from([0xff, 0x00]),
  offset: '42',
  timestamp: '1700000000000',
  attributes: 0,
  size: 0,
  headers: { traceparent: Buffer.from('00-abc') },
} as unknown as KafkaMessage;

describe('dead letter', () => {
  it('keeps the original bytes and headers and adds the reason headers', () => {
    const m = deadLetterMessage(
      original,
      new ProcessorError('DECODE_BAD_MAGIC', 'magic byte 0xff'),
      'decode',
      {
        sourceTopic: 'clickstream.events',
        partition: 3,
        appId: 'interest-drift',
        modelVersion: 'm1',
        nowMs: 1_700_000_001_000,
      },
    );
    expect(m.key).toBe(original.key);
    expect(m.value).toBe(original.value);
    expect(m.partition).toBe(3);
    expect(m.headers).toEqual({
      [`${DeadLetterOriginalHeaderPrefix}traceparent`]: Buffer.from('00-abc'),
      [DeadLetterHeaders.sourceTopic]: 'clickstream.events',
      [DeadLetterHeaders.sourcePartition]: '3',
      [DeadLetterHeaders.sourceOffset]: '42',
      [DeadLetterHeaders.sourceTimestampMs]: '1700000000000',
      [DeadLetterHeaders.stage]: 'decode',
      [DeadLetterHeaders.errorCode]: 'DECODE_BAD_MAGIC',
      [DeadLetterHeaders.errorMessage]: 'magic byte 0xff',
      [DeadLetterHeaders.appId]: 'interest-drift',
      [DeadLetterHeaders.modelVersion]: 'm1',
      [DeadLetterHeaders.timeMs]: '1700000001000',
    });
  });

  const ctx = { sourceTopic: 't', partition: 0, appId: 'a', modelVersion: 'm', nowMs: 0 };
  const oversize = new ProcessorError('VALIDATE_OVERSIZE', 'record of 1048000 bytes');
  const big = (value: Buffer, headers: KafkaMessage['headers'] = {}): KafkaMessage =>
    ({ ...original, key: Buffer.from('k'), value, headers }) as KafkaMessage;

  it('keeps a large original whole while it fits the broker gzipped', () => {
    const value = Buffer.alloc(2 * 1024 * 1024, 'x'); // compresses to a few KB
    const m = deadLetterMessage(big(value), oversize, 'validate', ctx);
    expect(m.value).toBe(value);
    expect(m.headers?.[DeadLetterHeaders.truncatedValueBytes]).toBeUndefined();
    const random = randomBytes(DEAD_LETTER_MAX_BYTES - 2048); // under the limit uncompressed
    expect(deadLetterMessage(big(random), oversize, 'validate', ctx).value).toBe(random);
  });

  it('keeps a prefix, and says what was cut, of an original the broker would refuse even gzipped', () => {
    const value = randomBytes(1_048_000); // nothing compresses it
    const m = deadLetterMessage(big(value, { trace: Buffer.from('t1') }), oversize, 'validate', ctx);
    expect((m.value as Buffer).equals(value.subarray(0, TRUNCATED_PREFIX_BYTES))).toBe(true);
    expect((m.key as Buffer).toString()).toBe('k');
    expect(m.headers?.[DeadLetterHeaders.truncatedKeyBytes]).toBe('1');
    expect(m.headers?.[DeadLetterHeaders.truncatedValueBytes]).toBe('1048000');
    expect(m.headers?.[DeadLetterHeaders.truncatedHeaders]).toBe('0');
    expect(m.headers?.[`${DeadLetterOriginalHeaderPrefix}trace`]).toEqual(Buffer.from('t1'));
    expect(m.headers?.[DeadLetterHeaders.errorCode]).toBe('VALIDATE_OVERSIZE');

    // Original headers that alone are over the prefix are dropped, and counted.
    const fat = { a: randomBytes(40_000), b: randomBytes(40_000) };
    const h = deadLetterMessage(big(randomBytes(900_000), fat), oversize, 'validate', ctx).headers ?? {};
    expect(h[`${DeadLetterOriginalHeaderPrefix}a`]).toBeUndefined();
    expect(h[DeadLetterHeaders.truncatedHeaders]).toBe('2');
  });
});
