/**
 * The start-up check on the REAL broker, for what it checks beyond permissions (those are in
 * test/integration/security/sasl-acl.test.ts, on a broker with ACLs): topics written partition by
 * partition after the input must have as many partitions as it. kafkajs drops, without an error,
 * a message for a partition its metadata lacks, so a changelog with fewer partitions than the
 * input lost the states of the higher partitions in silence.
 */
import { kafkaAccessPlan, verifyKafkaAccess } from '../../../src/kafka/access-check';
import { kafkaClientOptions } from '../../../src/kafka/clients';
import { createLogger } from '../../../src/shared/logger';
import { harnessConfig } from '../../support/processor-harness';
import { describeWithStack, testKafka } from '../../support/stack';

jest.setTimeout(120_000);

describeWithStack('start-up check of the topics', (env) => {
  it('names every topic with fewer partitions than the input it follows', async () => {
    const config = harnessConfig(env, 'partitions');
    const admin = testKafka(env).admin();
    await admin.connect();
    try {
      const t = config.topics;
      const topic = (name: string, numPartitions: number): { topic: string; numPartitions: number } => ({
        topic: name,
        numPartitions,
      });
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          topic(t.input, 3),
          topic(t.migrations, 1), // keyed by user, not by partition: any count will do
          topic(t.churn, 3),
          topic(t.deadLetter, 2),
          topic(t.userStateChangelog, 1),
          ...(config.profilesEnabled ? [topic(t.profiles, 3)] : []),
          ...(config.lateTopicEnabled ? [topic(t.late, 3)] : []),
        ],
      });
      const e = await verifyKafkaAccess(
        kafkaClientOptions(config),
        kafkaAccessPlan(config),
        createLogger('error'),
      )
        .then(() => null)
        .catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'KAFKA_TOPIC_UNDERPARTITIONED', fatal: true });
      const message = (e as Error).message;
      expect(message).toContain(`topic "${t.deadLetter}" has 2 partitions, "${t.input}" 3`);
      expect(message).toContain(`topic "${t.userStateChangelog}" has 1 partitions, "${t.input}" 3`);
      expect(message).not.toContain(t.migrations);

      await admin.createPartitions({
        topicPartitions: [
          { topic: t.deadLetter, count: 3 },
          { topic: t.userStateChangelog, count: 3 },
        ],
      });
      await verifyKafkaAccess(kafkaClientOptions(config), kafkaAccessPlan(config), createLogger('error'));
    } finally {
      await admin.disconnect();
    }
  });
});
