import { isProcessorError } from '../../../src/shared/errors';
import { frame, parseHeader } from '../../../src/kafka/serde';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isProcessorError(e)) return e.code;
    throw e;
  }
  return 'NO_ERROR';
}

describe('Confluent wire-format header', () => {
  it('round-trips the schema id and body', () => {
    const framed = frame(123456, Buffer.from([1, 2, 3]));
    expect([...framed.subarray(0, 5)]).toEqual([0, 0, 1, 0xe2, 0x40]);
    const { schemaId, body } = parseHeader(framed);
    expect(schemaId).toBe(123456);
    expect([...body]).toEqual([1, 2, 3]);
  });

  it('classifies null, short and wrong-magic values as bad records', () => {
    expect(codeOf(() => parseHeader(null))).toBe('DECODE_MISSING_VALUE');
    expect(codeOf(() => parseHeader(Buffer.from([0, 0, 0])))).toBe('DECODE_BAD_MAGIC');
    expect(codeOf(() => parseHeader(Buffer.from('{"userId":"x"}')))).toBe('DECODE_BAD_MAGIC');
  });
});
