import type { ConfigNeeds } from '../../../src/shared/config';
import { VARIABLES, configReferenceMarkdown, loadConfig } from '../../../src/shared/config';
import { isProcessorError } from '../../../src/shared/errors';

const minimal = {
  IDRIFT_KAFKA_BROKERS: '127.0.0.1:19092',
  IDRIFT_SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18081/apis/ccompat/v7',
};

function configError(
  env: Record<string, string>,
  needs: ConfigNeeds = {},
  command?: string,
): { message: string; code: string } {
  try {
    loadConfig(env, needs, command);
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

  it("reports a command's missing model file in the same error as a bad variable, naming the command", () => {
    const env = {
      ...minimal,
      IDRIFT_LOG_LEVEL: 'loud',
      IDRIFT_CHURN_MODEL_PATH: 'onnx/artifacts/churn-hazrd.json',
    };
    const err = configError(env, { modelFiles: true }, 'run');
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('2 problems');
    expect(err.message).toContain('IDRIFT_LOG_LEVEL="loud"');
    expect(err.message).toContain(
      'IDRIFT_CHURN_MODEL_PATH="onnx/artifacts/churn-hazrd.json" should be a readable file (ENOENT); run reads it',
    );
    const dir = configError({ ...minimal, IDRIFT_MODEL_META_PATH: 'onnx' }, { modelFiles: true }, 'run');
    expect(dir.message).toContain(
      'IDRIFT_MODEL_META_PATH="onnx" should be a readable file (it is not a regular file)',
    );
    // Commands that read no model (replay, dlq, inspect) do not check the paths.
    expect(() => loadConfig(env, {})).toThrow(/1 problem\b/);
  });

  it('accepts the committed model files, and no churn file when the hazard is off (none)', () => {
    expect(() => loadConfig(minimal, { modelFiles: true }, 'run')).not.toThrow();
    const off = loadConfig({ ...minimal, IDRIFT_CHURN_MODEL_PATH: 'none' }, { modelFiles: true }, 'run');
    expect(off.processing.churnModelPath).toBeNull();
  });

  it("reports alert-bridge's own requirements together with every other problem", () => {
    const err = configError({ ...minimal, IDRIFT_HTTP_PORT: '-1' }, { alerting: true }, 'alert-bridge');
    expect(err.message).toContain('3 problems');
    expect(err.message).toContain('IDRIFT_HTTP_PORT="-1"');
    expect(err.message).toContain('IDRIFT_ALERTMANAGER_URL is required by alert-bridge');
    expect(err.message).toContain('IDRIFT_LOG_PSEUDONYM_KEY is required by alert-bridge');
    const ok = loadConfig(
      {
        ...minimal,
        IDRIFT_ALERTMANAGER_URL: 'http://127.0.0.1:9093',
        IDRIFT_LOG_PSEUDONYM_KEY: 'k'.repeat(16),
      },
      { alerting: true },
      'alert-bridge',
    );
    expect(ok.alerts.alertmanagerUrls).toEqual(['http://127.0.0.1:9093']);
    // Given but invalid: reported once, as invalid, not also as missing.
    const bad = configError(
      { ...minimal, IDRIFT_ALERTMANAGER_URL: 'am:9093', IDRIFT_LOG_PSEUDONYM_KEY: 'short' },
      { alerting: true },
      'alert-bridge',
    );
    expect(bad.message).toContain('2 problems');
    expect(bad.message).not.toContain('is required');
  });

  it('takes one Alertmanager URL per replica, comma-separated, and names a bad or repeated entry', () => {
    const two = loadConfig({
      ...minimal,
      IDRIFT_ALERTMANAGER_URL: 'http://am-0.am:9093/, http://am-1.am:9093',
    });
    expect(two.alerts.alertmanagerUrls).toEqual(['http://am-0.am:9093', 'http://am-1.am:9093']);
    expect(
      configError({ ...minimal, IDRIFT_ALERTMANAGER_URL: 'http://am-0:9093,am-1:9093' }).message,
    ).toMatch(/IDRIFT_ALERTMANAGER_URL=.* should be an http:\/\/ or https:\/\/ URL \(entry "am-1:9093"\)/);
    expect(
      configError({ ...minimal, IDRIFT_ALERTMANAGER_URL: 'http://am-0:9093,http://am-0:9093/' }).message,
    ).toContain('should not list http://am-0:9093 twice');
    expect(
      configError({ ...minimal, IDRIFT_ALERTMANAGER_URL: 'http://am-0:9093,http://u:secret@am-1:9093' })
        .message,
    ).not.toContain('secret');
  });

  it('documents every variable in the reference table', () => {
    const table = configReferenceMarkdown();
    for (const name of Object.keys(VARIABLES)) expect(table).toContain(`\`${name}\``);
  });
});
