import { isProcessorError } from '../../../src/shared/errors';
import * as avro from 'avsc';
import { encodeFramed, frame, parseHeader } from '../../../src/kafka/serde';

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

describe('encodeFramed', () => {
  const type = avro.Type.forSchema({
    type: 'record',
    name: 'T',
    fields: [
      { name: 'userId', type: 'string' },
      { name: 'count', type: 'int' },
      { name: 'tags', type: { type: 'array', items: 'string' } },
      { name: 'note', type: ['null', 'string'], default: null },
    ],
  });

  it('writes the bytes of frame(id, toBuffer(value)), small and past its scratch size', () => {
    const values = [
      { userId: 'u1', count: 3, tags: [], note: null },
      { userId: 'u2', count: -7, tags: ['a', 'b'], note: 'x' },
      // Over 16 KiB (the initial scratch), then a small one again.
      { userId: 'u3', count: 1, tags: Array.from({ length: 3000 }, (_, i) => `tag-${i}`), note: null },
      { userId: 'u4', count: 0, tags: ['c'], note: null },
    ];
    for (const v of values) expect(encodeFramed(type, 77, v)).toEqual(frame(77, type.toBuffer(v)));
  });

  it('refuses a value that breaks the schema, naming the field, as ENCODE_INVALID_OUTPUT', () => {
    let caught: unknown;
    try {
      encodeFramed(type, 77, { userId: 'u1', count: 1.5, tags: [], note: null });
    } catch (e) {
      caught = e;
    }
    expect(isProcessorError(caught) && caught.code).toBe('ENCODE_INVALID_OUTPUT');
    expect(String((caught as Error).message)).toContain('count');
    expect(codeOf(() => encodeFramed(type, 77, { userId: 7, count: 1, tags: [], note: null }))).toBe(
      'ENCODE_INVALID_OUTPUT',
    );
    expect(codeOf(() => encodeFramed(type, 77, null))).toBe('ENCODE_INVALID_OUTPUT');
  });
});
