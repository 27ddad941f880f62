/**
 * Sizes of Kafka messages as the broker counts them against max.message.bytes (1 MiB by default,
 * for a whole record batch): what splits a transaction into requests, and what a dead letter may
 * carry of its original.
 */
import type { IHeaders, Message } from 'kafkajs';
import { CompressionTypes } from 'kafkajs';

/**
 * kafkajs puts all messages of one partition in one record batch, and the broker rejects a batch
 * over max.message.bytes (1 MiB by default): a large chunk (e.g. 2,000 changelog writes) must go in
 * several requests. Order is kept (requests are sent one after the other, max in flight 1).
 */
export const MAX_REQUEST_BYTES = 512 * 1024;

/**
 * An upper bound of a message's size in a record batch: key, value and headers, plus 64 bytes of
 * framing. Headers count: a dead letter carries about 400 bytes of them (more with the original's),
 * so 2,000 small bad records made a batch over 1 MiB that the broker refused (MESSAGE_TOO_LARGE, fatal).
 */
export function recordBytes(m: Pick<Message, 'key' | 'value' | 'headers'>): number {
  const n = 64 + sizeOf(m.key) + sizeOf(m.value);
  // Outputs and changelog writes: no headers to walk.
  return m.headers === undefined ? n : n + headerBytes(m.headers);
}

/** Bytes of `headers` in a record: each name and value, with 2 bytes of framing each. */
export function headerBytes(headers: IHeaders): number {
  let n = 0;
  for (const k in headers) {
    const v = headers[k];
    n += 2 + Buffer.byteLength(k);
    for (const one of Array.isArray(v) ? v : [v]) n += 2 + sizeOf(one);
  }
  return n;
}

/**
 * How to send `m` when it goes alone in its request: gzipped when it is over the request budget.
 * Such a message is a dead letter of a record its producer had compressed (the input took it under
 * its limit compressed; 2 MiB of repetitive JSON fits in a few KB): sent uncompressed, the broker
 * would refuse it for ever. gzip is kafkajs' own codec.
 */
export function compressionFor(m: Pick<Message, 'key' | 'value' | 'headers'>): {
  readonly compression?: CompressionTypes;
} {
  return recordBytes(m) > MAX_REQUEST_BYTES ? { compression: CompressionTypes.GZIP } : {};
}

export function sizeOf(v: Message['key'] | Message['value']): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'string' ? Buffer.byteLength(v) : v.length;
}
