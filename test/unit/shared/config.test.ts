import { VARIABLES, configReferenceMarkdown, loadConfig } from '../../../src/shared/config';
import { isProcessorError } from '../../../src/shared/errors';

const minimal = {
  IDRIFT_KAFKA_BROKERS: '127.0.0.1:19092',
  IDRIFT_SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18081/apis/ccompat/v7',
};

function configError(env: Record<string, string>): { message: string; code: string } {
  try {
    loadConfig(env);
  } catch (e) {
    if (isProcessorError(e)) return { message: e.message, code: e.code };
    throw e;
  }
  throw new Error('loadConfig accepted an invalid environment');
}

describe('loadConfig', () => {
  it('reports three bad variables in one error that names all three', () => {
    const err = configError({
      ...minimal,
      IDRIFT_MAX_BATCH_RECORDS: 'soon',
      IDRIFT_EXECUTION_PROVIDER: 'tpu',
      IDRIFT_HTTP_PORT: '70000',
    });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('3 problems');
    expect(err.message).toMatch(/IDRIFT_MAX_BATCH_RECORDS="soon" should be an integer/);
    expect(err.message).toMatch(/IDRIFT_EXECUTION_PROVIDER="tpu" should be one of auto, cuda, cpu/);
    expect(err.message).toMatch(/IDRIFT_HTTP_PORT="70000" should be between 0 and 65535/);
  });

  it('reports missing required variables together with invalid ones', () => {
    const err = configError({ IDRIFT_LOG_LEVEL: 'chatty' });
    expect(err.message).toContain('IDRIFT_KAFKA_BROKERS is required');
    expect(err.message).toContain('IDRIFT_SCHEMA_REGISTRY_URL is required');
    expect(err.message).toContain('IDRIFT_LOG_LEVEL="chatty" should be one of debug, info, warn, error');
  });

  it('checks cross-field rules', () => {
    const err = configError({
      ...minimal,
      IDRIFT_HEARTBEAT_INTERVAL_MS: '20000',
      IDRIFT_SESSION_TIMEOUT_MS: '30000',
    });
    expect(err.message).toContain(
      'IDRIFT_HEARTBEAT_INTERVAL_MS should be at most a third of IDRIFT_SESSION_TIMEOUT_MS',
    );
    const dup = configError({ ...minimal, IDRIFT_CHURN_TOPIC: 'interest.migrations' });
    expect(dup.message).toContain('name the same topic "interest.migrations"');
  });

  it('checks the rules across variables even when another variable is bad, so one run lists every problem', () => {
    const err = configError({
      ...minimal,
      IDRIFT_LOG_LEVEL: 'loud',
      IDRIFT_HEARTBEAT_INTERVAL_MS: '20000',
      IDRIFT_KAFKA_SASL_USERNAME: 'svc',
      IDRIFT_DLQ_TOPIC: 'clickstream.events',
      IDRIFT_KAFKA_TLS_CERT_FILE: '/no/such/cert.pem',
      IDRIFT_KAFKA_TLS_KEY_FILE: '/no/such/key.pem',
    });
    expect(err.message).toMatch(/IDRIFT_LOG_LEVEL="loud"/);
    expect(err.message).toMatch(/IDRIFT_HEARTBEAT_INTERVAL_MS should be at most a third/);
    expect(err.message).toMatch(/IDRIFT_KAFKA_SASL_USERNAME is set but IDRIFT_KAFKA_SASL_MECHANISM is not/);
    expect(err.message).toMatch(/IDRIFT_DLQ_TOPIC and IDRIFT_INPUT_TOPIC name the same topic/);
    // Unreadable files are reported as such, not also as "should be set together".
    expect(err.message).not.toMatch(/should be set together/);
  });

  it('refuses an output topic named as the state changelog derived from the application id', () => {
    const err = configError({
      ...minimal,
      IDRIFT_APP_ID: 'clickstream',
      IDRIFT_LATE_TOPIC: 'clickstream.user-state',
    });
    expect(err.message).toMatch(/IDRIFT_LATE_TOPIC and the state changelog .* name the same topic/);
  });

  it('returns a deeply frozen config with defaults and derived names', () => {
    const c = loadConfig({ ...minimal, IDRIFT_KAFKA_BROKERS: 'a:1, b:2', IDRIFT_APP_ID: 'drift-test' });
    expect(c.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(c.topics.userStateChangelog).toBe('drift-test.user-state');
    expect(c.model.executionProvider).toBe('auto');
    expect(c.registry.url).toBe('http://127.0.0.1:18081/apis/ccompat/v7');
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.kafka.brokers)).toBe(true);
    expect(() => {
      (c.kafka as { maxBatchRecords: number }).maxBatchRecords = 5;
    }).toThrow(TypeError);
  });

  it('documents every variable in the reference table', () => {
    const table = configReferenceMarkdown();
    for (const name of Object.keys(VARIABLES)) expect(table).toContain(`\`${name}\``);
  });
});
