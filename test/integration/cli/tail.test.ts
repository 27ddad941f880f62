/**
 * `interest-drift tail` as an operator runs it, on the REAL broker and registry: a record it cannot
 * show gets a line naming where it is and why, and the tail goes on to the next. Before, the first
 * such record crashed its consumer for good while the command waited for a signal, showing nothing.
 */
import type { ChurnRisk } from '../../../src/kafka/avro-types.gen';
import { ChurnRiskSchema } from '../../../src/kafka/avro-types.gen';
import { AvroSerde, valueSubject } from '../../../src/kafka/serde';
import { appTopicsEnv } from '../../support/app-env';
import { eventually, startCli } from '../../support/cli-process';
import { createTopicsFor, harnessConfig } from '../../support/processor-harness';
import { describeWithStack, testKafka, testRegistry } from '../../support/stack';

jest.setTimeout(120_000);

describeWithStack('tail command', (env) => {
  it('shows what decodes, names what does not, and goes on', async () => {
    const config = harnessConfig(env, 'tail');
    const kafka = testKafka(env);
    await createTopicsFor(kafka, config);
    const serde = new AvroSerde(testRegistry(env));
    const id = await serde.register(valueSubject(config.topics.churn), ChurnRiskSchema, 'FULL_TRANSITIVE');
    const churn: ChurnRisk = {
      alertId: 't1',
      userId: 'tess',
      level: 'HIGH',
      previousLevel: 'NONE',
      status: 'RAISED',
      replacesAlertId: null,
      resolution: null,
      scoredAtEventTimeMs: Date.UTC(2026, 10, 1),
      riskScore: 0.91,
      idleMs: 36 * 3_600_000,
      lastEventTimeMs: Date.UTC(2026, 9, 30),
      reasons: [{ code: 'IDLE_TIME', value: 36, detail: 'no activity for 36.0 h (event time)' }],
      trigger: 'EVENT_TIME_TIMER',
      modelVersion: 'm1',
    };
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: config.topics.churn,
      messages: [
        { key: 'x', value: Buffer.from('not avro'), partition: 0 },
        { key: 'y', value: null, partition: 0 },
        // Decodes, but no date holds its time: the formatter threw RangeError.
        { key: 'z', value: serde.encode(id, { ...churn, scoredAtEventTimeMs: 9e15 }), partition: 0 },
        { key: 'tess', value: serde.encode(id, churn), partition: 0 },
      ],
    });
    await producer.disconnect();

    const run = startCli(['tail', '--from-beginning'], {
      IDRIFT_KAFKA_BROKERS: env.brokers.join(','),
      IDRIFT_SCHEMA_REGISTRY_URL: env.registryUrl,
      ...appTopicsEnv(config.appId),
      IDRIFT_LOG_PSEUDONYM_KEY: 'a test key of 16+ characters',
      IDRIFT_LOG_LEVEL: 'warn',
    });
    try {
      const out = await eventually(
        () => Promise.resolve(run.output()),
        (o) => o.includes('CHURN HIGH'),
        60_000,
      );
      const topic = config.topics.churn;
      expect(out).toContain(`! ${topic} partition 0 offset 0: not shown (DECODE_BAD_MAGIC)`);
      expect(out).toContain(`! ${topic} partition 0 offset 1: not shown (DECODE_MISSING_VALUE)`);
      expect(out).toContain(`! ${topic} partition 0 offset 2: not shown (RangeError)`);
      expect(out).toMatch(/CHURN HIGH\s+u_\S+\s+risk 0\.91/);
      expect(out).not.toContain('tess');
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exited).toBe(0);
  });
});
