/**
 * How a churn record is applied to several Alertmanager replicas (applyAlertRecord): the policy
 * only, over in-memory clients of our own AlertmanagerClient interface. The real program's
 * behaviour is in test/integration/app/alert-bridge.test.ts.
 */
import type { AlertmanagerAlert, AlertmanagerClient } from '../../../src/app/alertmanager';
import { applyAlertRecord, skippingWhenUnavailable } from '../../../src/app/alertmanager';
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
    find(id) {
      if (fails) return Promise.reject(fails());
      return Promise.resolve(
        alerts.filter((a) => a.labels.alert_id === id && Date.parse(a.endsAt) > options.nowMs),
      );
    },
  };
}

const down = (): Error => new ProcessorError('ALERTMANAGER_UNAVAILABLE', 'connection refused');

describe('applyAlertRecord over replicas', () => {
  it('tells every replica, resolving what each holds', async () => {
    const [a, b] = [replica(), replica()];
    a.alerts.push({
      labels: { alert_id: 'a0' },
      annotations: {},
      startsAt: new Date(0).toISOString(),
      endsAt: new Date(2e12).toISOString(),
    });
    const r = await applyAlertRecord([a, b], record, options);
    expect(r).toEqual({ fired: 1, resolved: 1 });
    expect(a.alerts.map((x) => [x.labels.alert_id, Date.parse(x.endsAt) > options.nowMs])).toEqual([
      ['a0', true],
      ['a0', false],
      ['a1', true],
    ]);
    expect(b.alerts.map((x) => x.labels.alert_id)).toEqual(['a1']);
  });

  it('goes on with the others while a replica is unavailable, and reports it', async () => {
    const missed: number[] = [];
    const live = replica();
    await applyAlertRecord([replica(down), live], record, options, (i) => missed.push(i));
    expect(live.alerts.map((x) => x.labels.alert_id)).toEqual(['a1']);
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
