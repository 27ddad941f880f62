/**
 * The service as an operator runs it: a child process `interest-drift run` against the real
 * stack. Probes, metrics, ordered shutdown on SIGTERM, and configuration errors.
 */
import { describeWithStack, testKafka, testRegistry } from '../../support/stack';
import { createTopicsFor, harnessConfig, TINY_META, TINY_MODEL } from '../../support/processor-harness';
import { replayRows } from '../../../src/kafka/replay-producer';
import { AvroSerde } from '../../../src/kafka/serde';
import { simulate } from '../../../src/sim/simulator';
import { appTopicsEnv } from '../../support/app-env';
import { eventually, httpGet, startCli } from '../../support/cli-process';

jest.setTimeout(120_000);

describe('configuration errors', () => {
  it('exit 2 with every problem listed, before touching Kafka', async () => {
    const run = startCli(['run'], { IDRIFT_MAX_BATCH_RECORDS: 'soon', IDRIFT_EXECUTION_PROVIDER: 'tpu' });
    expect(await run.exited).toBe(2);
    const out = run.output();
    expect(out).toContain('IDRIFT_KAFKA_BROKERS is required');
    expect(out).toContain('IDRIFT_SCHEMA_REGISTRY_URL is required');
    expect(out).toContain('IDRIFT_MAX_BATCH_RECORDS="soon" should be an integer');
    expect(out).toContain('IDRIFT_EXECUTION_PROVIDER="tpu" should be one of auto, cuda, cpu');
  });
});

describe('stopping while starting', () => {
  it('SIGTERM while Kafka is still awaited ends in an orderly stop with exit 0', async () => {
    const run = startCli(['run'], {
      IDRIFT_KAFKA_BROKERS: '127.0.0.1:1', // nothing listens there: the start waits with backoff
      IDRIFT_SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1/apis/ccompat/v7',
      IDRIFT_MODEL_PATH: TINY_MODEL,
      IDRIFT_MODEL_META_PATH: TINY_META,
      IDRIFT_HTTP_PORT: '0',
      IDRIFT_LOG_LEVEL: 'info',
    });
    await eventually(
      () => Promise.resolve(run.output()),
      (out) => out.includes('kafka unavailable at start; retrying'),
    );
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.output()).toContain('"msg":"stopped"');
  });
});

describeWithStack('interest-drift run', (env) => {
  it('serves probes and metrics, and stops cleanly on SIGTERM', async () => {
    const config = harnessConfig(env, 'shell');
    const kafka = testKafka(env);
    await createTopicsFor(kafka, config);
    const rows = simulate({ seed: 5, users: 50, days: 1, activityScale: 2 }).rows;
    await replayRows(kafka, new AvroSerde(testRegistry(env)), rows, {
      topic: config.topics.input,
      idPrefix: 's',
    });
    const port = 19_000 + Math.floor(Math.random() * 500);
    const run = startCli(['run'], {
      IDRIFT_KAFKA_BROKERS: env.brokers.join(','),
      IDRIFT_SCHEMA_REGISTRY_URL: env.registryUrl,
      ...appTopicsEnv(config.appId),
      IDRIFT_MODEL_PATH: TINY_MODEL,
      IDRIFT_MODEL_META_PATH: TINY_META,
      IDRIFT_HTTP_PORT: String(port),
      IDRIFT_LOG_LEVEL: 'info',
    });
    try {
      const ready = await eventually(
        () => httpGet(port, '/readyz'),
        (r) => r.status === 200,
      );
      expect(ready.status).toBe(200);
      expect(await httpGet(port, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
      const metrics = await eventually(
        () => httpGet(port, '/metrics'),
        (r) => /idrift_events_processed_total\{partition="\d+"\} [1-9]/.test(r.body),
      );
      expect(metrics.body).toContain('idrift_execution_provider_info{provider="cpu",requested="auto"} 1');
      expect(metrics.body).toMatch(/idrift_transactions_total\{outcome="committed"\} [1-9]/);
      expect(metrics.body).toMatch(/idrift_encoder_latency_seconds_count\{provider="cpu"\} [1-9]/);
      expect(metrics.body).toMatch(/idrift_encoder_batch_rows_count [1-9]/);
      expect(metrics.body).toMatch(/idrift_restore_duration_seconds_count [1-9]/);
      expect(metrics.body).toMatch(/^idrift_ready 1$/m); // as /readyz answered 200
      // No user id ever appears in a label or anywhere in the metrics, nor in the logs.
      const users = new Set(rows.map((r) => r.userId));
      for (const u of users) {
        expect(metrics.body).not.toContain(u);
        expect(run.output()).not.toContain(u);
      }
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exited).toBe(0);
    expect(run.output()).toContain('"msg":"stopped"');
  });
});
