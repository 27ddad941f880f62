import { alertBridgeAccessPlan, kafkaAccessPlan, underpartitioned } from '../../../src/kafka/access-check';
import { loadConfig } from '../../../src/shared/config';

const config = loadConfig({
  IDRIFT_KAFKA_BROKERS: 'localhost:9092',
  IDRIFT_SCHEMA_REGISTRY_URL: 'http://localhost:8081',
});

describe('topics written partition by partition', () => {
  it('follow the input (the service) and the churn topic (alert-bridge)', () => {
    const follows = (plan: ReturnType<typeof kafkaAccessPlan>): [string, string | undefined][] =>
      plan.topics.filter((t) => t.partitionsOf !== undefined).map((t) => [t.name, t.partitionsOf]);
    const t = config.topics;
    expect(follows(kafkaAccessPlan(config))).toEqual(
      expect.arrayContaining([
        [t.deadLetter, t.input],
        [t.userStateChangelog, t.input],
      ]),
    );
    expect(follows(alertBridgeAccessPlan(config))).toEqual([[t.alertBridgeDeadLetter, t.churn]]);
  });

  it('are reported when they have fewer partitions, and only then', () => {
    const plan = kafkaAccessPlan(config);
    const t = config.topics;
    const counts = (changelog: number, dlq?: number): Map<string, number> =>
      new Map([
        [t.input, 4],
        [t.userStateChangelog, changelog],
        ...(dlq === undefined ? [] : [[t.deadLetter, dlq] as [string, number]]),
      ]);
    expect(underpartitioned(plan, counts(4, 4))).toEqual([]);
    expect(underpartitioned(plan, counts(6, 4))).toEqual([]); // more is harmless
    expect(underpartitioned(plan, counts(4))).toEqual([]); // unknown: the other checks report it
    const found = underpartitioned(plan, counts(2, 3));
    expect(found).toHaveLength(2);
    expect(found.join('\n')).toContain(`"${t.userStateChangelog}" has 2 partitions, "${t.input}" 4`);
    expect(found.join('\n')).toContain('partitions 2 to 3 would be lost');
  });
});
