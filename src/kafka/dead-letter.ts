/**
 * Dead-letter records: the ORIGINAL key and value bytes, untouched, with the reason in headers
 * (schemas/dead-letter-headers.json). Messages and headers carry codes and positions, never
 * record contents or user ids.
 */
import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import type { ProcessorError } from '../shared/errors';
import { DeadLetterHeaders, DeadLetterOriginalHeaderPrefix } from './avro-types.gen';

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
  return { key: original.key, value: original.value, headers, partition: ctx.partition };
}
