/**
 * One user's committed state, read from the changelog (no running processor needed): the user's
 * changelog partition is the one kafkajs' default (Java-compatible murmur2) partitioner gives
 * its key, since the changelog is co-partitioned with the input; that partition is read to its
 * end and the last record for the key wins (a tombstone means erased).
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { UserState } from '../core/user-state';
import type { Config } from '../shared/config';
import { ProcessorError } from '../shared/errors';
import { keyPartition } from './key-partitioner';
import { readToEnd } from './read-to-end';
import { readFailure } from './failure-policy';
import type { AvroSerde } from './serde';
import { changelogValueToState } from './changelog-value';
import { decodeState } from '../state/state-codec';

export async function userPartition(kafka: Kafka, topic: string, userId: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    const partitionMetadata = meta.topics[0]?.partitions ?? [];
    if (partitionMetadata.length === 0)
      throw new ProcessorError('CONFIG_INVALID', `topic ${topic} has no partitions`);
    return keyPartition(userId, partitionMetadata.length);
  } finally {
    await admin.disconnect();
  }
}

/** The user's state after the last committed changelog record; null when absent or erased. */
export async function readUserState(
  kafka: Kafka,
  serde: AvroSerde,
  config: Config,
  userId: string,
  timeoutMs = 120_000,
): Promise<UserState | null> {
  const topic = config.topics.userStateChangelog;
  const partition = await userPartition(kafka, topic, userId);
  let last: Buffer | null = null;
  const res = await readToEnd(kafka, {
    topic,
    partitions: [partition],
    groupId: `${config.appId}.inspect.${randomUUID()}`,
    timeoutMs,
    onBatch: (_p, messages) => {
      for (const m of messages) if (m.key?.toString() === userId) last = m.value;
    },
  });
  if (res.failure || res.unfinished.length > 0) {
    throw readFailure(res.failure, `could not read changelog partition ${partition} to its end`);
  }
  const value = last as Buffer | null;
  return value === null ? null : decodeState(userId, await changelogValueToState(value, serde));
}
