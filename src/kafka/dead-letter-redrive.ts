/**
 * Re-drives dead letters to the input after a fix: the dead-letter topic is read (read_committed)
 * to its current end, the records that match the filter are produced again to the input topic
 * with their original key, value and headers, in dead-letter order, once per run. A record that
 * is re-driven twice (two runs over the same range) is harmless: the processor drops a repeated
 * event id. Each re-driven record carries `dlq.redriven.from` = `<dlqTopic>/<partition>/<offset>`.
 * A truncated dead letter (dlq.truncated.value.bytes set) holds only a prefix of its original: it
 * is counted, never re-driven.
 */
import { randomUUID } from 'node:crypto';
import type { IHeaders, Kafka, KafkaMessage, Message } from 'kafkajs';
import type { Config } from '../shared/config';
import { DeadLetterHeaders, DeadLetterOriginalHeaderPrefix } from './avro-types.gen';
import { readToEnd } from './read-to-end';
import { readFailure } from './failure-policy';

export const REDRIVEN_FROM_HEADER = 'dlq.redriven.from';

export interface RedriveFilter {
  /** Error codes to re-drive (dlq.error.code); empty = every code. */
  readonly codes: readonly string[];
  /** Only records that came from this input partition (dlq.source.partition). */
  readonly sourcePartition?: number;
  /** Only records whose input offset (dlq.source.offset) is ≥ this. */
  readonly fromOffset?: bigint;
  /** Only records whose input offset is ≤ this. */
  readonly toOffset?: bigint;
}

export interface RedriveSummary {
  readonly examined: number;
  readonly matched: number;
  readonly redriven: number;
  /** Matching records left out because they hold only a prefix of their original (truncated). */
  readonly truncated: number;
  /** Matched records per error code. */
  readonly byCode: Readonly<Record<string, number>>;
}

const header = (m: KafkaMessage, name: string): string | undefined => m.headers?.[name]?.toString();

export function matchesFilter(m: KafkaMessage, f: RedriveFilter): boolean {
  const code = header(m, DeadLetterHeaders.errorCode) ?? '';
  if (f.codes.length > 0 && !f.codes.includes(code)) return false;
  if (
    f.sourcePartition !== undefined &&
    header(m, DeadLetterHeaders.sourcePartition) !== String(f.sourcePartition)
  ) {
    return false;
  }
  const offset = header(m, DeadLetterHeaders.sourceOffset);
  if (f.fromOffset === undefined && f.toOffset === undefined) return true;
  if (offset === undefined || !/^\d+$/.test(offset)) return false;
  const o = BigInt(offset);
  return (f.fromOffset === undefined || o >= f.fromOffset) && (f.toOffset === undefined || o <= f.toOffset);
}

/** The original record as it was produced: key, value and the headers kept under dlq.original.* */
export function originalMessage(m: KafkaMessage, from: string): Message {
  const headers: IHeaders = {};
  for (const [k, v] of Object.entries(m.headers ?? {})) {
    if (k.startsWith(DeadLetterOriginalHeaderPrefix) && v !== undefined) {
      headers[k.slice(DeadLetterOriginalHeaderPrefix.length)] = v;
    }
  }
  headers[REDRIVEN_FROM_HEADER] = from;
  return { key: m.key, value: m.value, headers };
}

export async function redriveDeadLetters(
  kafka: Kafka,
  config: Config,
  filter: RedriveFilter,
  o: { readonly dryRun: boolean; readonly timeoutMs?: number },
): Promise<RedriveSummary> {
  const selected: Message[] = [];
  const byCode: Record<string, number> = {};
  let examined = 0;
  let truncated = 0;
  const res = await readToEnd(kafka, {
    topic: config.topics.deadLetter,
    groupId: `${config.appId}.redrive.${randomUUID()}`,
    timeoutMs: o.timeoutMs ?? 300_000,
    onBatch: (partition, messages) => {
      for (const m of messages) {
        examined++;
        if (!matchesFilter(m, filter)) continue;
        if (header(m, DeadLetterHeaders.truncatedValueBytes) !== undefined) {
          truncated++;
          continue;
        }
        const code = header(m, DeadLetterHeaders.errorCode) ?? 'unknown';
        byCode[code] = (byCode[code] ?? 0) + 1;
        selected.push(originalMessage(m, `${config.topics.deadLetter}/${partition}/${m.offset}`));
      }
    },
  });
  if (res.failure || res.unfinished.length > 0) {
    throw readFailure(res.failure, 'could not read the dead-letter topic to its end');
  }
  if (!o.dryRun && selected.length > 0) {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      for (let i = 0; i < selected.length; i += 500) {
        await producer.send({ topic: config.topics.input, acks: -1, messages: selected.slice(i, i + 500) });
      }
    } finally {
      await producer.disconnect();
    }
  }
  return {
    examined,
    matched: selected.length,
    redriven: o.dryRun ? 0 : selected.length,
    truncated,
    byCode,
  };
}
