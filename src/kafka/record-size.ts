/**
 * Sizes of Kafka messages as the broker counts them against max.message.bytes (1 MiB by default,
 * for a whole record batch): what splits a transaction into requests, and what a dead letter may
 * carry of its original.
 */
import type { Message } from 'kafkajs';

/**
 * An upper bound of a message's size in a record batch: key, value and headers, plus 64 bytes of
 * framing. Headers count: a dead letter carries about 400 bytes of them (more with the original's),
 * so 2,000 small bad records made a batch over 1 MiB that the broker refused (MESSAGE_TOO_LARGE, fatal).
 */
export function recordBytes(m: Pick<Message, 'key' | 'value' | 'headers'>): number {
  let n = 64 + sizeOf(m.key) + sizeOf(m.value);
  const headers = m.headers;
  if (headers === undefined) return n; // outputs and changelog writes: no headers to walk
  for (const k in headers) {
    const v = headers[k];
    n += 2 + Buffer.byteLength(k);
    for (const one of Array.isArray(v) ? v : [v]) n += 2 + sizeOf(one);
  }
  return n;
}

export function sizeOf(v: Message['key'] | Message['value']): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'string' ? Buffer.byteLength(v) : v.length;
}
