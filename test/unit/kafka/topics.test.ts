import { loadConfig } from '../../../src/shared/config';
import { topicConfigs } from '../../../src/kafka/topics';

const base = { IDRIFT_KAFKA_BROKERS: 'localhost:9092', IDRIFT_SCHEMA_REGISTRY_URL: 'http://localhost:8081' };

describe('topic layout', () => {
  it('co-partitions every topic with the input, and compacts the changelog and profiles', () => {
    const config = loadConfig(base);
    const topics = topicConfigs(config, { inputPartitions: 6, replicationFactor: 3 });
    expect(topics.map((t) => t.topic).sort()).toEqual(
      [
        config.topics.input,
        config.topics.migrations,
        config.topics.churn,
        config.topics.deadLetter,
        config.topics.alertBridgeDeadLetter,
        config.topics.late,
        config.topics.userStateChangelog,
        config.topics.profiles,
      ].sort(),
    );
    for (const t of topics) {
      expect(t.numPartitions).toBe(6);
      expect(t.replicationFactor).toBe(3);
    }
    const compacted = topics.filter((t) =>
      t.configEntries?.some((e) => e.name === 'cleanup.policy' && e.value === 'compact'),
    );
    expect(compacted.map((t) => t.topic).sort()).toEqual(
      [config.topics.userStateChangelog, config.topics.profiles].sort(),
    );
  });

  it('leaves the profiles and late-events topics out when they are off', () => {
    const config = loadConfig({
      ...base,
      IDRIFT_PROFILES_ENABLED: 'false',
      IDRIFT_LATE_TOPIC_ENABLED: 'false',
    });
    const names = topicConfigs(config, { inputPartitions: 1, replicationFactor: 1 }).map((t) => t.topic);
    expect(names).not.toContain(config.topics.profiles);
    expect(names).not.toContain(config.topics.late);
  });
});
