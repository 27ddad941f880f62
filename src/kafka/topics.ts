/**
 * Topic layout and creation. The changelog is compacted and co-partitioned with the input
 * (same partition count), so partition p's state lives in changelog partition p.
 */
import type { Admin, ITopicConfig, Kafka } from 'kafkajs';
import type { Config } from '../shared/config';
import { withRetry } from '../shared/retry';
import { isKafkaRetriable } from './failure-policy';

export interface TopicPlan {
  readonly inputPartitions: number;
  readonly replicationFactor: number;
}

export function topicConfigs(config: Config, plan: TopicPlan): ITopicConfig[] {
  const { inputPartitions: partitions, replicationFactor } = plan;
  // Restore reads the changelog from its start, so what the cleaner has not compacted yet is read
  // too: segments roll every minute or 64 MiB, and a segment is cleaned once 10 % of the log is
  // superseded (the 10-minute segments before let a soak's changelog grow to GBs between cleanings).
  const compacted = [
    { name: 'cleanup.policy', value: 'compact' },
    { name: 'min.compaction.lag.ms', value: '0' },
    { name: 'segment.ms', value: '60000' },
    { name: 'segment.bytes', value: String(64 * 1024 * 1024) },
    { name: 'min.cleanable.dirty.ratio', value: '0.1' },
  ];
  const topics: ITopicConfig[] = [
    {
      topic: config.topics.input,
      numPartitions: partitions,
      replicationFactor,
      // The broker refuses records stamped more than an hour ahead of its clock (Kafka 4's
      // default, set here so a broker-wide override cannot lift it). Validation accepts event
      // times up to IDRIFT_MAX_EVENT_FUTURE_MS past the record timestamp, so no producer can move
      // a partition's watermark (and so every churn timer and eviction) into the far future.
      configEntries: [{ name: 'message.timestamp.after.max.ms', value: '3600000' }],
    },
    { topic: config.topics.migrations, numPartitions: partitions, replicationFactor },
    { topic: config.topics.churn, numPartitions: partitions, replicationFactor },
    { topic: config.topics.deadLetter, numPartitions: partitions, replicationFactor },
    // Written by alert-bridge, partition p holding what it could not decode from churn partition p.
    { topic: config.topics.alertBridgeDeadLetter, numPartitions: partitions, replicationFactor },
    ...(config.lateTopicEnabled
      ? [{ topic: config.topics.late, numPartitions: partitions, replicationFactor }]
      : []),
    {
      topic: config.topics.userStateChangelog,
      numPartitions: partitions,
      replicationFactor,
      configEntries: compacted,
    },
  ];
  if (config.profilesEnabled) {
    topics.push({
      topic: config.topics.profiles,
      numPartitions: partitions,
      replicationFactor,
      configEntries: compacted,
    });
  }
  return topics;
}

/** Creates missing topics; existing ones are left as they are. Returns the names created. */
export async function ensureTopics(admin: Admin, topics: ITopicConfig[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.topic));
  if (missing.length > 0) await admin.createTopics({ topics: missing, waitForLeaders: true });
  return missing.map((t) => t.topic);
}

/**
 * The one topic set-up: connect an admin, create the service's missing topics (plus `extra`),
 * disconnect. Retried with backoff: right after a broker starts, a new topic's metadata may still
 * answer UNKNOWN_TOPIC_OR_PARTITION, which kafkajs's waitForLeaders does not retry.
 * `plan` defaults to the configured partitions and replication factor. Returns the names created.
 */
export async function setUpTopics(
  kafka: Kafka,
  config: Config,
  plan: TopicPlan = {
    inputPartitions: config.kafka.inputPartitions,
    replicationFactor: config.kafka.replicationFactor,
  },
  extra: readonly ITopicConfig[] = [],
): Promise<string[]> {
  return withRetry(
    async () => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        return await ensureTopics(admin, [...topicConfigs(config, plan), ...extra]);
      } finally {
        await admin.disconnect();
      }
    },
    { initialDelayMs: 250, maxDelayMs: 2_000, maxRetries: 10, shouldRetry: isKafkaRetriable },
  );
}
