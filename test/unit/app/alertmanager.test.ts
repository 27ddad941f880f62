/**
 * How a churn record is applied to several Alertmanager replicas (applyAlertRecord): the policy
 * only, over in-memory clients of our own AlertmanagerClient interface. The real program's
 * behaviour is in test/integration/app/alert-bridge.test.ts.
 */
import type { AlertmanagerAlert, AlertmanagerClient } from '../../../src/app/alertmanager';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  alertmanagerClient,
  applyAlertRecord,
  createAlertIdLabeler,
  skippingWhenUnavailable,
} from '../../../src/app/alertmanager';
import type { ChurnRisk } from '../../../src/kafka/avro-types.gen';
import { ProcessorError, isProcessorError } from '../../../src/shared/errors';

const record: ChurnRisk = {
  alertId: 'a1',
  userId: 'u1',
  level: 'HIGH',
  previousLevel: 'MEDIUM',
  status: 'RAISED',
  replacesAlertId: 'a0',
  resolution: null,
  scoredAtEventTimeMs: Date.UTC(2026, 10, 1),
  riskScore: 0.9,
  idleMs: 3_600_000,
  lastEventTimeMs: Date.UTC(2026, 9, 31),
  reasons: [{ code: 'IDLE_TIME', value: 1, detail: 'idle' }],
  trigger: 'EVENT_TIME_TIMER',
  modelVersion: 'm',
};

const options = {
  pseudonym: (u: string) => `p-${u}`,
  alertIdLabel: (id: string) => `l-${id}`,
  includeUserId: false,
  firingTtlMs: 60_000,
  nowMs: 1e12,
};

/** A replica holding alerts in memory, or failing every call with `fails`. */
function replica(fails?: () => Error): AlertmanagerClient & { alerts: AlertmanagerAlert[] } {
  const alerts: AlertmanagerAlert[] = [];
  return {
    alerts,
    post(a) {
      if (fails) return Promise.reject(fails());
      alerts.push(...a);
      return Promise.resolve();
    },
    find(labels) {
      if (fails) return Promise.reject(fails());
      return Promise.resolve(
        alerts.filter(
          (a) => labels.includes(a.labels.alert_id ?? '') && Date.parse(a.endsAt) > options.nowMs,
        ),
      );
    },
  };
}

const down = (): Error => new ProcessorError('ALERTMANAGER_UNAVAILABLE', 'connection refused');

describe('applyAlertRecord over replicas', () => {
  it('tells every replica, resolving what each holds', async () => {
    const [a, b] = [replica(), replica()];
    const open = (label: string): AlertmanagerAlert => ({
      labels: { alert_id: label },
      annotations: {},
      startsAt: new Date(0).toISOString(),
      endsAt: new Date(2e12).toISOString(),
    });
    a.alerts.push(open('l-a0'));
    // Raised by a bridge before 0.3.0, whose alert_id label was the alertId itself.
    b.alerts.push(open('a0'));
    const r = await applyAlertRecord([a, b], record, options);
    expect(r).toEqual({ fired: 1, resolved: 1 });
    expect(a.alerts.map((x) => [x.labels.alert_id, Date.parse(x.endsAt) > options.nowMs])).toEqual([
      ['l-a0', true],
      ['l-a0', false],
      ['l-a1', true],
    ]);
    expect(b.alerts.map((x) => [x.labels.alert_id, Date.parse(x.endsAt) > options.nowMs])).toEqual([
      ['a0', true],
      ['a0', false],
      ['l-a1', true],
    ]);
  });

  it('goes on with the others while a replica is unavailable, and reports it', async () => {
    const missed: number[] = [];
    const live = replica();
    await applyAlertRecord([replica(down), live], record, options, (i) => missed.push(i));
    expect(live.alerts.map((x) => x.labels.alert_id)).toEqual(['l-a1']);
    expect(missed).toEqual([0]);
  });

  it('throws a retriable error when no replica is available, so the record is retried', async () => {
    const e = await applyAlertRecord([replica(down), replica(down)], record, options).catch(
      (x: unknown) => x,
    );
    expect(isProcessorError(e) && [e.code, e.retriable]).toEqual(['ALERTMANAGER_UNAVAILABLE', true]);
  });

  it('throws a refusal even when another replica took the record (a deployment error or a bug)', async () => {
    const refused = (): Error => new ProcessorError('ALERTMANAGER_ACCESS_FAILED', 'HTTP 403');
    const e = await applyAlertRecord([replica(), replica(refused)], record, options).catch((x: unknown) => x);
    expect(isProcessorError(e) && e.code).toBe('ALERTMANAGER_ACCESS_FAILED');
    const bug = await applyAlertRecord(
      [replica(), replica(() => new TypeError('boom'))],
      record,
      options,
    ).catch((x: unknown) => x);
    expect(bug).toBeInstanceOf(TypeError);
  });

  it('skips a replica for a while after it was unavailable, not after a refusal', async () => {
    let calls = 0;
    let answer: (() => Error) | null = down;
    const counted: AlertmanagerClient = {
      post: () => {
        calls++;
        return answer ? Promise.reject(answer()) : Promise.resolve();
      },
      find: () => Promise.resolve([]),
    };
    const skipping = skippingWhenUnavailable(counted, 200);
    const codeOf = (e: unknown): string => (isProcessorError(e) ? e.code : String(e));
    expect(codeOf(await skipping.post([]).catch((e: unknown) => e))).toBe('ALERTMANAGER_UNAVAILABLE');
    // Skipped: fails at once without asking the replica.
    expect(codeOf(await skipping.post([]).catch((e: unknown) => e))).toBe('ALERTMANAGER_UNAVAILABLE');
    expect(calls).toBe(1);
    await new Promise((r) => setTimeout(r, 250));
    answer = null;
    await skipping.post([]);
    expect(calls).toBe(2);
    // A refusal is not an outage: the next request still reaches the replica.
    answer = () => new ProcessorError('ALERT_REJECTED', 'HTTP 400');
    expect(codeOf(await skipping.post([]).catch((e: unknown) => e))).toBe('ALERT_REJECTED');
    answer = null;
    await skipping.post([]);
    expect(calls).toBe(4);
  });
});

describe('alert_id label', () => {
  it('is keyed: stable for one key, another for another key, and never the alertId', () => {
    const label = createAlertIdLabeler(Buffer.from('key one, 16+ chars'));
    expect(label('a1')).toBe(label('a1'));
    expect(label('a1')).toMatch(/^a_[\w-]{16}$/);
    expect(label('a1')).not.toBe(label('a2'));
    expect(createAlertIdLabeler(Buffer.from('key two, 16+ chars'))('a1')).not.toBe(label('a1'));
  });
});

describe('Alertmanager client', () => {
  it('sends credentials of the URL as basic auth, and names no alert_id when a lookup fails', async () => {
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const client = alertmanagerClient(`http://bridge:p%40ss@127.0.0.1:${port}`);
      await client.post([{ labels: { a: 'b' }, annotations: {}, startsAt: 'x', endsAt: 'y' }]);
      expect(await client.find(['a_secretlabel'])).toEqual([]);
      expect(seen).toEqual([`Basic ${Buffer.from('bridge:p@ss').toString('base64')}`, expect.any(String)]);
    } finally {
      await new Promise((r) => server.close(r));
    }
    // Nothing listens there any more.
    const e = await alertmanagerClient(`http://127.0.0.1:${port}`)
      .find(['a_secretlabel'])
      .catch((x: unknown) => x);
    expect(isProcessorError(e) && e.code).toBe('ALERTMANAGER_UNAVAILABLE');
    expect(String((e as Error).message)).not.toContain('secretlabel');
  });
});
