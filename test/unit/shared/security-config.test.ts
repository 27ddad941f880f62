/**
 * The security variables the Deployment sets (SASL, TLS, registry auth): parsed into Config,
 * validated across fields, every problem reported at once, secrets never echoed.
 * (Lives beside the manifest tests; it belongs with test/unit/app/config.test.ts.)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/shared/config';
import type { Env } from '../../../src/shared/config';
import { isProcessorError } from '../../../src/shared/errors';
import { kafkaClientOptions, registryClientOptions } from '../../../src/kafka/clients';

let dir: string;
let ca: string;
let cert: string;
let key: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'idrift-sec-config-'));
  [ca, cert, key] = ['ca.crt', 'client.crt', 'client.key'].map((f) => {
    const p = join(dir, f);
    writeFileSync(p, 'placeholder\n');
    return p;
  }) as [string, string, string];
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base: Env = {
  IDRIFT_KAFKA_BROKERS: 'kafka:9093',
  IDRIFT_SCHEMA_REGISTRY_URL: 'https://registry:8081/apis/ccompat/v7',
};

function problems(env: Env): string {
  try {
    loadConfig({ ...base, ...env });
  } catch (e) {
    if (isProcessorError(e) && e.code === 'CONFIG_INVALID') return e.message;
    throw e;
  }
  return '';
}

describe('security configuration', () => {
  it('builds SASL, TLS and registry settings, and hands them to the client factories', () => {
    const config = loadConfig({
      ...base,
      IDRIFT_KAFKA_SASL_MECHANISM: 'scram-sha-512',
      IDRIFT_KAFKA_SASL_USERNAME: 'interest-drift',
      IDRIFT_KAFKA_SASL_PASSWORD: 's3cret-kafka',
      IDRIFT_KAFKA_TLS: 'true',
      IDRIFT_KAFKA_TLS_CA_FILE: ca,
      IDRIFT_KAFKA_TLS_CERT_FILE: cert,
      IDRIFT_KAFKA_TLS_KEY_FILE: key,
      IDRIFT_SCHEMA_REGISTRY_USERNAME: 'reg',
      IDRIFT_SCHEMA_REGISTRY_PASSWORD: 's3cret-registry',
      IDRIFT_SCHEMA_REGISTRY_TLS_CA_FILE: ca,
    });
    expect(config.kafka.sasl).toEqual({
      mechanism: 'scram-sha-512',
      username: 'interest-drift',
      password: 's3cret-kafka',
    });
    expect(config.kafka.tls).toEqual({ caFile: ca, certFile: cert, keyFile: key });
    expect(config.registry.auth).toEqual({ username: 'reg', password: 's3cret-registry' });
    expect(config.registry.tls).toEqual({ caFile: ca, certFile: null, keyFile: null });
    expect(kafkaClientOptions(config, '-tail')).toMatchObject({
      clientId: 'interest-drift-tail',
      sasl: config.kafka.sasl,
      tls: config.kafka.tls,
    });
    expect(registryClientOptions(config)).toEqual({
      url: config.registry.url,
      auth: config.registry.auth,
      tls: config.registry.tls,
    });
  });

  it('defaults to no SASL, plaintext Kafka and an anonymous registry', () => {
    const config = loadConfig(base);
    expect(config.kafka.sasl).toBeNull();
    expect(config.kafka.tls).toBeNull();
    expect(config.registry.auth).toBeNull();
    expect(config.registry.tls).toBeNull();
  });

  it('reports every cross-field problem at once, naming the variables', () => {
    const msg = problems({
      IDRIFT_KAFKA_SASL_MECHANISM: 'plain',
      IDRIFT_KAFKA_TLS_CERT_FILE: cert,
      IDRIFT_SCHEMA_REGISTRY_URL: 'http://registry:8081',
      IDRIFT_SCHEMA_REGISTRY_PASSWORD: 's3cret-registry',
      IDRIFT_SCHEMA_REGISTRY_TLS_CA_FILE: ca,
    });
    for (const expected of [
      'IDRIFT_KAFKA_SASL_USERNAME is required when IDRIFT_KAFKA_SASL_MECHANISM is set',
      'IDRIFT_KAFKA_SASL_PASSWORD is required when IDRIFT_KAFKA_SASL_MECHANISM is set',
      'IDRIFT_KAFKA_SASL_MECHANISM=plain sends the password in clear text: set IDRIFT_KAFKA_TLS=true',
      'IDRIFT_KAFKA_TLS_CERT_FILE is set but IDRIFT_KAFKA_TLS is not true',
      'IDRIFT_KAFKA_TLS_CERT_FILE and IDRIFT_KAFKA_TLS_KEY_FILE should be set together',
      'IDRIFT_SCHEMA_REGISTRY_USERNAME and IDRIFT_SCHEMA_REGISTRY_PASSWORD should be set together',
      'IDRIFT_SCHEMA_REGISTRY_PASSWORD would travel in clear text',
      'IDRIFT_SCHEMA_REGISTRY_TLS_CA_FILE is set but IDRIFT_SCHEMA_REGISTRY_URL is not an https:// URL',
    ]) {
      expect(msg).toContain(expected);
    }
    expect(msg).toMatch(/Invalid configuration \(8 problems\)/);
    expect(msg).not.toContain('s3cret-registry');
  });

  it('rejects credentials without a mechanism, unknown mechanisms and missing files', () => {
    expect(problems({ IDRIFT_KAFKA_SASL_USERNAME: 'u', IDRIFT_KAFKA_SASL_PASSWORD: 'p' })).toContain(
      'IDRIFT_KAFKA_SASL_PASSWORD is set but IDRIFT_KAFKA_SASL_MECHANISM is not',
    );
    expect(problems({ IDRIFT_KAFKA_SASL_MECHANISM: 'gssapi' })).toContain(
      'IDRIFT_KAFKA_SASL_MECHANISM="gssapi" should be one of scram-sha-512, scram-sha-256, plain',
    );
    const missing = problems({
      IDRIFT_KAFKA_TLS: 'true',
      IDRIFT_KAFKA_TLS_CA_FILE: join(dir, 'nope.crt'),
      IDRIFT_SCHEMA_REGISTRY_TLS_KEY_FILE: dir,
    });
    expect(missing).toContain(
      `IDRIFT_KAFKA_TLS_CA_FILE="${join(dir, 'nope.crt')}" should be a readable file (ENOENT)`,
    );
    expect(missing).toContain('IDRIFT_SCHEMA_REGISTRY_TLS_KEY_FILE');
    // The rules across variables run too, in the same error: a key without its certificate.
    expect(missing).toContain(
      'IDRIFT_SCHEMA_REGISTRY_TLS_CERT_FILE and IDRIFT_SCHEMA_REGISTRY_TLS_KEY_FILE should be set together',
    );
    expect(missing).toMatch(/\(3 problems\)/);
  });

  it('refuses credentials inside a URL, and never echoes them', () => {
    const err = problems({
      IDRIFT_SCHEMA_REGISTRY_URL: 'https://svc:hunter2-very-secret@registry.example:8081/apis/ccompat/v7',
    });
    expect(err).toContain(
      'IDRIFT_SCHEMA_REGISTRY_URL="https://<credentials>@registry.example:8081/apis/ccompat/v7"',
    );
    expect(err).toContain('should carry no credentials');
    expect(err).not.toContain('hunter2');
  });

  it('never echoes a password, even an invalid one', () => {
    expect(problems({ IDRIFT_KAFKA_SASL_PASSWORD: 'hunter2-very-secret' })).not.toContain('hunter2');
  });
});
