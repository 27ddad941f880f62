/**
 * One Kafka transaction per processed chunk of input partition p: the outputs, the dead letters,
 * the late events (when the late-events topic is on), the changelog writes of partition p and (unless null) the consumed offset, all or nothing.
 * Building the messages is pure; committing maps every failure through the failure policy.
 */
import type { KafkaMessage, Message, Producer, TopicMessages } from 'kafkajs';
import type { Config } from '../shared/config';
import { ProcessorError } from '../shared/errors';
import { withRetry } from '../shared/retry';
import type { BatchPlan } from '../pipeline/partition-processor';
import { DeadLetterHeaders } from './avro-types.gen';
import { deadLetterMessage } from './dead-letter';
import { isConcurrentTransactions, transactionFailure } from './failure-policy';
import { MAX_REQUEST_BYTES, compressionFor, recordBytes, sizeOf } from './record-size';
import type { Checkpoint } from '../state/checkpoint';
import { CHECKPOINT_KEY, encodeCheckpoint } from '../state/checkpoint';
import type { AvroSerde } from './serde';
import type { InterestProfile } from '../core/types';

/** Registry ids of the schemas the outputs are written with. */
export interface OutputSchemaIds {
  readonly migration: number;
  readonly churn: number;
  readonly profile: number;
}

export interface OutputContext {
  readonly config: Config;
  readonly serde: AvroSerde;
  readonly schemaIds: OutputSchemaIds;
  readonly partition: number;
  readonly modelVersion: string;
  /** Wall-clock ms, stamped on dead letters. */
  readonly nowMs: number;
}

/**
 * Every message of a plan, by topic, in plan order. `chunk` holds the dead letters' originals;
 * `changelog` holds the state values to write (version 4; null = tombstone), encoded once by the
 * caller, which keeps the state inside each in its StateStore; `checkpoint`, when not null, is
 * written after them: where a replay of the partition starts (checkpoint.ts).
 */
export function buildTopicMessages(
  plan: Pick<BatchPlan, 'outputs' | 'deadLetters' | 'lateEvents'>,
  chunk: readonly KafkaMessage[],
  changelog: ReadonlyMap<string, Uint8Array | null>,
  checkpoint: Checkpoint | null,
  ctx: OutputContext,
): TopicMessages[] {
  const { config, serde, schemaIds: ids, partition: p } = ctx;
  const byTopic = new Map<string, Message[]>();
  const add = (topic: string, m: Message): void => {
    const list = byTopic.get(topic);
    if (list) list.push(m);
    else byTopic.set(topic, [m]);
  };
  for (const o of plan.outputs) {
    switch (o.kind) {
      case 'migration':
        add(config.topics.migrations, { key: o.key, value: serde.encode(ids.migration, o.value) });
        break;
      case 'churn':
        add(config.topics.churn, { key: o.key, value: serde.encode(ids.churn, o.value) });
        break;
      case 'profile':
        // avsc's one array writer also reads arrays of strings, and V8's optimised code turns every
        // array of unboxed doubles it reads into one of boxed numbers (an elements-kind transition
        // on load). The embedding is the user's state vector: it gets a copy to box, not itself.
        add(config.topics.profiles, {
          key: o.key,
          value: serde.encode(ids.profile, profileWithOwnEmbedding(o.value as InterestProfile)),
        });
        break;
      case 'profile-tombstone':
        add(config.topics.profiles, { key: o.key, value: null });
        break;
    }
  }
  const byOffset = new Map(chunk.map((m) => [m.offset, m]));
  const originalAt = (offset: string): KafkaMessage => {
    const m = byOffset.get(offset);
    if (!m) throw new ProcessorError('INVARIANT_VIOLATED', `offset ${offset} is outside the chunk`);
    return m;
  };
  const sideContext = {
    sourceTopic: config.topics.input,
    partition: p,
    appId: config.appId,
    modelVersion: ctx.modelVersion,
    nowMs: ctx.nowMs,
  };
  for (const d of plan.deadLetters) {
    add(config.topics.deadLetter, deadLetterMessage(originalAt(d.offset), d.error, d.stage, sideContext));
  }
  if (config.lateTopicEnabled) {
    for (const l of plan.lateEvents) {
      const reason = {
        code: 'EVENT_LATE' as const,
        message: `event time ${l.watermarkMs - l.eventTimeMs} ms behind the watermark`,
      };
      add(
        config.topics.late,
        deadLetterMessage(originalAt(l.offset), reason, 'lateness', sideContext, {
          [DeadLetterHeaders.watermarkMs]: String(l.watermarkMs),
          [DeadLetterHeaders.eventTimeMs]: String(l.eventTimeMs),
        }),
      );
    }
  }
  const bytes = (v: Uint8Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  for (const [userId, value] of changelog) {
    add(config.topics.userStateChangelog, {
      key: userId,
      value: value === null ? null : bytes(value),
      partition: p,
    });
  }
  if (checkpoint !== null) {
    add(config.topics.userStateChangelog, {
      key: CHECKPOINT_KEY,
      value: bytes(encodeCheckpoint(checkpoint)),
      partition: p,
    });
  }
  return [...byTopic.entries()].map(([topic, messages]) => ({ topic, messages }));
}

/** Key and value bytes of the messages for `topic` in `topicMessages` (keys as UTF-8). */
export function keyValueBytes(topicMessages: ReturnType<typeof buildTopicMessages>, topic: string): number {
  let n = 0;
  for (const t of topicMessages) if (t.topic === topic) n += messageBytes(t.messages);
  return n;
}

/** Key and value bytes of `messages`, produced or consumed (string keys as UTF-8). */
export function messageBytes(messages: readonly Pick<Message, 'key' | 'value'>[]): number {
  let n = 0;
  for (const m of messages) n += sizeOf(m.key) + sizeOf(m.value);
  return n;
}

export interface ConsumedOffset {
  readonly groupId: string;
  readonly topic: string;
  readonly partition: number;
  /** The next offset to consume. */
  readonly offset: bigint;
}

/**
 * Sends `topicMessages` and `consumed` in one transaction of `producer` and commits it. On any
 * failure the transaction is aborted and a ProcessorError from the failure policy is thrown
 * (KAFKA_FENCED, KAFKA_TRANSIENT, KAFKA_AUTHORIZATION_FAILED or INVARIANT_VIOLATED).
 */
export async function commitTransaction(
  producer: Producer,
  topicMessages: readonly TopicMessages[],
  consumed: ConsumedOffset | null,
  failureContext: { readonly partition: number; readonly resource: string },
): Promise<void> {
  const txn = await producer.transaction();
  try {
    for (const request of splitBySize(topicMessages, MAX_REQUEST_BYTES)) {
      // splitBySize puts a message over the budget alone in its request; only such one-message
      // requests are sized again.
      const only =
        request.length === 1 && request[0]?.messages.length === 1 ? request[0].messages[0] : undefined;
      await txn.sendBatch({ topicMessages: request, acks: -1, ...(only ? compressionFor(only) : {}) });
    }
    if (consumed !== null) {
      const offsets = {
        consumerGroupId: consumed.groupId,
        topics: [
          {
            topic: consumed.topic,
            partitions: [{ partition: consumed.partition, offset: consumed.offset.toString() }],
          },
        ],
      };
      await withRetry(() => txn.sendOffsets(offsets), {
        initialDelayMs: 20,
        maxDelayMs: 500,
        maxRetries: 20,
        shouldRetry: isConcurrentTransactions,
      });
    }
    await txn.commit();
  } catch (e) {
    await txn.abort().catch(() => undefined);
    throw transactionFailure(e, failureContext.partition, { resource: failureContext.resource });
  }
}

export function splitBySize(topicMessages: readonly TopicMessages[], maxBytes: number): TopicMessages[][] {
  const requests: TopicMessages[][] = [];
  let current: TopicMessages[] = [];
  let bytes = 0;
  for (const { topic, messages } of topicMessages) {
    let group: Message[] = [];
    for (const m of messages) {
      const size = recordBytes(m);
      if (bytes + size > maxBytes && bytes > 0) {
        if (group.length > 0) current.push({ topic, messages: group });
        requests.push(current);
        current = [];
        group = [];
        bytes = 0;
      }
      group.push(m);
      bytes += size;
    }
    if (group.length > 0) current.push({ topic, messages: group });
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

function profileWithOwnEmbedding(p: InterestProfile): InterestProfile {
  return { ...p, embedding: p.embedding.slice() };
}
