/**
 * Dead-letter records: the ORIGINAL key and value bytes, untouched, with the reason in headers
 * (schemas/dead-letter-headers.json). Messages and headers carry codes and positions, never
 * record contents or user ids. The one exception is a record too large to be written again
 * (truncated() below).
 */
import { gzipSync } from 'node:zlib';
import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import type { ProcessorError } from '../shared/errors';
import { DeadLetterHeaders, DeadLetterOriginalHeaderPrefix } from './avro-types.gen';
import { headerBytes, recordBytes, sizeOf } from './record-size';

/**
 * The most bytes of a dead letter, key, value and headers, gzipped. A dead letter over the
 * transaction request budget goes alone in its request, gzipped (commitTransaction), and the
 * broker's default max.message.bytes is 1 MiB: this leaves room for the batch framing.
 */
export const DEAD_LETTER_MAX_BYTES = 896 * 1024;

/** What a dead letter over DEAD_LETTER_MAX_BYTES keeps of its original key and of its value. */
export const TRUNCATED_PREFIX_BYTES = 64 * 1024;

/** Values of the dlq.stage header (schemas/asyncapi.yaml lists the same). */
export const DEAD_LETTER_STAGES = ['decode', 'validate', 'process', 'lateness', 'alert-bridge'] as const;
export type DeadLetterStage = (typeof DEAD_LETTER_STAGES)[number];

export interface DeadLetterContext {
  readonly sourceTopic: string;
  readonly partition: number;
  readonly appId: string;
  readonly modelVersion: string;
  readonly nowMs: number;
}

/**
 * The original record, untouched, with the reason headers of schemas/dead-letter-headers.json.
 * `extra` adds headers of that contract that only some records carry (the late-event times).
 */
export function deadLetterMessage(
  original: KafkaMessage,
  error: Pick<ProcessorError, 'code' | 'message'>,
  stage: DeadLetterStage,
  ctx: DeadLetterContext,
  extra: Readonly<Record<string, string>> = {},
): Message {
  const headers: IHeaders = {};
  for (const [k, v] of Object.entries(original.headers ?? {})) {
    if (v !== undefined) headers[`${DeadLetterOriginalHeaderPrefix}${k}`] = v;
  }
  Object.assign(headers, {
    [DeadLetterHeaders.sourceTopic]: ctx.sourceTopic,
    [DeadLetterHeaders.sourcePartition]: String(ctx.partition),
    [DeadLetterHeaders.sourceOffset]: original.offset,
    [DeadLetterHeaders.sourceTimestampMs]: original.timestamp,
    [DeadLetterHeaders.stage]: stage,
    [DeadLetterHeaders.errorCode]: error.code,
    [DeadLetterHeaders.errorMessage]: error.message,
    [DeadLetterHeaders.appId]: ctx.appId,
    [DeadLetterHeaders.modelVersion]: ctx.modelVersion,
    [DeadLetterHeaders.timeMs]: String(ctx.nowMs),
    ...extra,
  });
  const letter = { key: original.key, value: original.value, headers, partition: ctx.partition };
  return fits(letter) ? letter : truncated(letter, original.headers ?? {});
}

/** True when the broker takes `letter` (most do: no compression needed when under 896 KiB). */
function fits(letter: Message): boolean {
  const bytes = recordBytes(letter);
  if (bytes <= DEAD_LETTER_MAX_BYTES) return true;
  const parts: Buffer[] = [];
  for (const v of [letter.key, letter.value, ...Object.values(letter.headers ?? {}).flat()]) {
    if (v !== null && v !== undefined) parts.push(typeof v === 'string' ? Buffer.from(v) : v);
  }
  const plain = parts.reduce((n, b) => n + b.length, 0);
  return bytes - plain + gzipSync(Buffer.concat(parts)).length <= DEAD_LETTER_MAX_BYTES;
}

/**
 * A record whose dead letter the broker would refuse even gzipped: its producer compressed it
 * better than gzip does, or nothing compresses it and our reason headers push it over the input
 * topic's own limit. Refused on every attempt, it would stop the service for good. It is written
 * with the first TRUNCATED_PREFIX_BYTES of its key and of its value, without its original
 * headers when they alone are over that, and with dlq.truncated.* headers giving what was cut.
 */
function truncated(letter: Message, originalHeaders: IHeaders): Message {
  const headers: IHeaders = { ...letter.headers };
  const dropHeaders = headerBytes(originalHeaders) > TRUNCATED_PREFIX_BYTES;
  if (dropHeaders) {
    for (const k of Object.keys(originalHeaders)) delete headers[`${DeadLetterOriginalHeaderPrefix}${k}`];
  }
  const cut = (v: Message['key'] | Message['value']): Buffer | null =>
    v === null || v === undefined
      ? null
      : (typeof v === 'string' ? Buffer.from(v) : v).subarray(0, TRUNCATED_PREFIX_BYTES);
  Object.assign(headers, {
    [DeadLetterHeaders.truncatedKeyBytes]: String(sizeOf(letter.key)),
    [DeadLetterHeaders.truncatedValueBytes]: String(sizeOf(letter.value)),
    [DeadLetterHeaders.truncatedHeaders]: String(dropHeaders ? Object.keys(originalHeaders).length : 0),
  });
  return { ...letter, key: cut(letter.key), value: cut(letter.value), headers };
}
