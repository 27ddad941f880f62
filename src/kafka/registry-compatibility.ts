/**
 * Subject compatibility levels, set by the service at start-up through the registry's
 * Confluent-compatible REST API (`PUT /config/{subject}`), with the same URL, basic auth and TLS
 * as the serde's client. Who is protected decides the level:
 *   - our outputs are FULL_TRANSITIVE: every version reads and is read by every other, so a
 *     consumer may upgrade before or after us, and skip versions;
 *   - the input stays BACKWARD (the producers' contract, not ours to tighten);
 *   - the state changelog is BACKWARD: only we read it, and a new version restores old records.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Config } from '../shared/config';
import { ProcessorError } from '../shared/errors';
import type { RegistryClientOptions } from './clients';
import { tlsOptions } from './clients';
import type { Compatibility } from './serde';
import { registryAuthFailure, valueSubject } from './serde';

/** The compatibility level of every subject the service registers a schema under. */
export function outputCompatibility(config: Config): Readonly<Record<string, Compatibility>> {
  return {
    [valueSubject(config.topics.migrations)]: 'FULL_TRANSITIVE',
    [valueSubject(config.topics.churn)]: 'FULL_TRANSITIVE',
    [valueSubject(config.topics.profiles)]: 'FULL_TRANSITIVE',
    [valueSubject(config.topics.userStateChangelog)]: 'BACKWARD',
  };
}

export interface SubjectConfigClient {
  get(subject: string): Promise<string | null>;
  set(subject: string, level: Compatibility): Promise<void>;
}

export function subjectConfigClient(opts: RegistryClientOptions): SubjectConfigClient {
  const call = (
    method: 'GET' | 'PUT',
    subject: string,
    body?: object,
  ): Promise<{ status: number; text: string }> => {
    const url = new URL(`${opts.url.replace(/\/$/, '')}/config/${encodeURIComponent(subject)}`);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method,
          headers: {
            accept: 'application/vnd.schemaregistry.v1+json, application/json',
            ...(payload ? { 'content-type': 'application/vnd.schemaregistry.v1+json' } : {}),
            ...(opts.auth
              ? {
                  authorization: `Basic ${Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString('base64')}`,
                }
              : {}),
          },
          ...(opts.tls ? tlsOptions(opts.tls) : {}),
          timeout: 10_000,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('timeout', () => req.destroy(new Error('registry request timed out')));
      req.on('error', reject);
      req.end(payload);
    });
  };
  const unavailable = (what: string, cause: unknown, status?: number): ProcessorError =>
    new ProcessorError('REGISTRY_UNAVAILABLE', `could not ${what}`, { cause, context: { status } });
  return {
    async get(subject) {
      const r = await call('GET', subject).catch((e: unknown) => {
        throw unavailable(`read the compatibility of ${subject}`, e);
      });
      if (r.status === 404) return null;
      if (r.status === 401 || r.status === 403)
        throw registryAuthFailure(r.status, `read the compatibility of ${subject}`);
      if (r.status >= 300) throw unavailable(`read the compatibility of ${subject}`, r.text, r.status);
      const level = JSON.parse(r.text) as { compatibilityLevel?: string; compatibility?: string };
      return (level.compatibilityLevel ?? level.compatibility ?? '').toUpperCase() || null;
    },
    async set(subject, level) {
      const r = await call('PUT', subject, { compatibility: level }).catch((e: unknown) => {
        throw unavailable(`set the compatibility of ${subject}`, e);
      });
      // 409: two instances updating the subject at once (a race, retried like an outage).
      if (r.status >= 500 || r.status === 0 || r.status === 409) {
        throw unavailable(`set the compatibility of ${subject}`, r.text, r.status);
      }
      if (r.status === 401 || r.status === 403)
        throw registryAuthFailure(r.status, `set the compatibility of ${subject}`);
      if (r.status >= 300) {
        // 422 and the like: a deployment error, not a transient one.
        throw new ProcessorError(
          'CONFIG_INVALID',
          `registry refused compatibility ${level} for subject ${subject} (HTTP ${r.status})`,
          { context: { status: r.status } },
        );
      }
    },
  };
}
