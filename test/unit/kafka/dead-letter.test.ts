import type { KafkaMessage } from 'kafkajs';
import { DeadLetterHeaders, DeadLetterOriginalHeaderPrefix } from '../../../src/kafka/avro-types.gen';
import { deadLetterMessage } from '../../../src/kafka/dead-letter';
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
});
