/**
 * Churn alerts → Prometheus Alertmanager (v2 API), for `interest-drift alert-bridge`.
 *
 * Alertmanager identifies an alert by its label set, so a ChurnRisk record maps to one alert with
 * labels alertname, service, level, reasons (sorted codes), user (the keyed pseudonym, never the
 * id) and alert_id (a keyed pseudonym of the record's alertId, alertIdLabel). RAISED posts it
 * firing until `firingTtlMs` from now and resolves the alert it replaces; RESOLVED resolves
 * `alertId`. Resolving looks the alert up in Alertmanager by its
 * alert_id label and re-posts its exact labels with endsAt a minute before now (RESOLVE_BACKDATE_MS),
 * so the bridge keeps no state:
 * replaying records (at-least-once delivery) posts the same identities again, which Alertmanager
 * merges.
 */
import type { ChurnRisk } from '../kafka/avro-types.gen';
import { ConsecutiveBreaker, circuitBreaker, handleWhen, isBrokenCircuitError } from 'cockatiel';
import { ProcessorError, isProcessorError } from '../shared/errors';
import { keyedDigest } from '../shared/logger';

export interface AlertmanagerAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL?: string;
}

export interface AlertOptions {
  readonly pseudonym: (userId: string) => string;
  /** The alert_id label of a churn.risk alertId (createAlertIdLabeler). */
  readonly alertIdLabel: (alertId: string) => string;
  readonly includeUserId: boolean;
  readonly firingTtlMs: number;
  /** Wall-clock now, ms. */
  readonly nowMs: number;
}

export const ALERT_NAME = 'InterestDriftChurnRisk';

/**
 * The alert_id label of an alertId, keyed with `key` (IDRIFT_LOG_PSEUDONYM_KEY): `a_` and 16
 * base64url characters (96 bits). Why keyed: an alertId is an unkeyed hash of the user id, the
 * level, the scoring time and the event count, and the alert's own labels and annotations give all
 * but the count, so whoever holds a list of user ids could name the user of an alert.
 */
export function createAlertIdLabeler(key: Buffer): (alertId: string) => string {
  return (alertId) => keyedDigest(key, `alert_id\u001f${alertId}`, 'a_', 16);
}

/**
 * The alert_id labels an open alert of `alertId` may carry: the keyed one, and the alertId itself,
 * which bridges before 0.3.0 used. Those alerts fire until their endsAt (IDRIFT_ALERT_FIRING_TTL_MS
 * after they were raised), so resolving must find them until then; the second entry can go one
 * firing TTL after every bridge runs 0.3.0.
 */
function alertIdLabels(alertId: string, o: Pick<AlertOptions, 'alertIdLabel'>): string[] {
  return [o.alertIdLabel(alertId), alertId];
}

/** The firing alert of a RAISED record. */
export function firingAlert(r: ChurnRisk, o: AlertOptions): AlertmanagerAlert {
  const reasons = r.reasons.map((x) => x.code).sort();
  return {
    labels: {
      alertname: ALERT_NAME,
      service: 'interest-drift',
      level: r.level,
      reasons: reasons.join(','),
      user: o.pseudonym(r.userId),
      alert_id: o.alertIdLabel(r.alertId),
    },
    annotations: {
      summary: `churn risk ${r.level}: ${r.reasons.map((x) => x.detail).join('; ')}`,
      risk_score: r.riskScore.toFixed(3),
      idle_hours: (r.idleMs / 3_600_000).toFixed(1),
      scored_at_event_time: new Date(r.scoredAtEventTimeMs).toISOString(),
      model_version: r.modelVersion,
      ...(o.includeUserId ? { user_id: r.userId } : {}),
    },
    startsAt: new Date(o.nowMs).toISOString(),
    endsAt: new Date(o.nowMs + o.firingTtlMs).toISOString(),
  };
}

/** What a record asks of Alertmanager: alerts to post firing, and alert ids to resolve. */
export function alertActions(
  r: ChurnRisk,
  o: AlertOptions,
): { fire: AlertmanagerAlert[]; resolve: string[] } {
  if (r.status === 'RAISED') {
    return { fire: [firingAlert(r, o)], resolve: r.replacesAlertId ? [r.replacesAlertId] : [] };
  }
  if (r.status === 'RESOLVED') return { fire: [], resolve: [r.alertId] };
  return { fire: [], resolve: [] };
}

export interface AlertmanagerClient {
  post(alerts: readonly AlertmanagerAlert[]): Promise<void>;
  /** Active (firing) alerts whose alert_id label is one of `labels`. */
  find(labels: readonly string[]): Promise<AlertmanagerAlert[]>;
}

/** Answers that say the URL or the credentials are wrong (a deployment error), not the alert. */
const ACCESS_STATUSES: ReadonlySet<number> = new Set([401, 403, 404, 405, 407]);

/**
 * A client of the Alertmanager at `baseUrl`. Credentials in the URL (`https://user:pass@host`, an
 * Alertmanager behind a proxy with basic auth) are sent as an Authorization header: fetch refuses
 * a URL that holds them, with a message that quotes it, password included.
 */
export function alertmanagerClient(baseUrl: string, timeoutMs = 10_000): AlertmanagerClient {
  const url = new URL(baseUrl);
  const authorization =
    url.username || url.password
      ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
      : null;
  url.username = '';
  url.password = '';
  const base = url.toString().replace(/\/$/, '');
  const call = async (path: string, init: RequestInit): Promise<Response> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), ...(authorization ? { authorization } : {}) },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      // The path without its query: a lookup's query holds alert_id labels.
      throw new ProcessorError(
        'ALERTMANAGER_UNAVAILABLE',
        `Alertmanager ${init.method ?? 'GET'} ${path.split('?')[0]} failed`,
        { cause: e },
      );
    }
    if (res.status >= 500 || res.status === 429) {
      throw new ProcessorError('ALERTMANAGER_UNAVAILABLE', `Alertmanager answered HTTP ${res.status}`, {
        context: { status: res.status },
      });
    }
    if (ACCESS_STATUSES.has(res.status)) {
      throw new ProcessorError(
        'ALERTMANAGER_ACCESS_FAILED',
        `Alertmanager refused access or has no v2 alerts API at this URL: HTTP ${res.status}`,
        { context: { status: res.status } },
      );
    }
    if (!res.ok) {
      throw new ProcessorError('ALERT_REJECTED', `Alertmanager refused the request: HTTP ${res.status}`, {
        context: { status: res.status },
      });
    }
    return res;
  };
  return {
    async post(alerts) {
      if (alerts.length === 0) return;
      await call('/api/v2/alerts', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alerts),
      });
    },
    async find(labels) {
      const regex = labels.map(escapeRegex).join('|');
      const filter = encodeURIComponent(`alert_id=~"${regex.replace(/[\\"]/g, '\\$&')}"`);
      const res = await call(`/api/v2/alerts?active=true&silenced=true&inhibited=true&filter=${filter}`, {
        method: 'GET',
      });
      try {
        return (await res.json()) as AlertmanagerAlert[];
      } catch (e) {
        // A body cut short or garbled on the way: asking again may well work. Not the parser's
        // message as the cause: it quotes the body around the fault (alert labels, annotations).
        throw new ProcessorError(
          'ALERTMANAGER_UNAVAILABLE',
          `Alertmanager answered a body that is not JSON (${(e as Error).name})`,
        );
      }
    },
  };
}

/**
 * How far before the bridge's clock a resolve is dated, ms. Alertmanager takes a posted alert as
 * resolved only if its endsAt is already past on Alertmanager's own clock; otherwise it merges it
 * as still firing and keeps the later explicit endsAt it holds (the firing TTL), so a bridge whose
 * clock ran even a few ms ahead lost the resolve (the alert fired on for the whole TTL).
 */
export const RESOLVE_BACKDATE_MS = 60_000;

/** Applies one record to one Alertmanager: resolve what it closes, then post what it opens. */
async function applyToReplica(
  client: AlertmanagerClient,
  r: ChurnRisk,
  o: AlertOptions,
): Promise<{ fired: number; resolved: number }> {
  const { fire, resolve } = alertActions(r, o);
  let resolved = 0;
  const endsAtMs = o.nowMs - RESOLVE_BACKDATE_MS;
  for (const id of resolve) {
    const open = await client.find(alertIdLabels(id, o));
    await client.post(
      open.map((a) => {
        // Alertmanager refuses endsAt before startsAt, and keeps the earlier startsAt when merging.
        const started = Date.parse(a.startsAt);
        const startsAtMs = Number.isNaN(started) ? endsAtMs : Math.min(started, endsAtMs);
        return {
          labels: a.labels,
          annotations: a.annotations,
          startsAt: new Date(startsAtMs).toISOString(),
          endsAt: new Date(endsAtMs).toISOString(),
        };
      }),
    );
    resolved += open.length;
  }
  await client.post(fire);
  return { fired: fire.length, resolved };
}

/** Replica `replica` (its index in IDRIFT_ALERTMANAGER_URL) failed a record that others took. */
export type ReplicaFailure = (replica: number, e: unknown) => void;

/**
 * Applies one record to every Alertmanager replica, concurrently. Alertmanager's replicas share
 * silences and notifications, not alerts, so each must be told (as Prometheus tells each). The
 * record counts as applied when at least one replica took it and none refused it:
 *  - a refusal (a deployment error or a bug: a fatal ProcessorError, or any other error) is thrown;
 *  - a replica that is unavailable while another took the record is reported to
 *    `onReplicaFailure` and skipped: a replica that was down lost its alerts anyway (Alertmanager
 *    keeps alerts in memory only), but one that held an alert and missed its resolve keeps it
 *    firing until its endsAt (IDRIFT_ALERT_FIRING_TTL_MS);
 *  - when every replica is unavailable, the first error is thrown (retriable: the bridge retries
 *    the record on all of them; re-posting is idempotent).
 * `resolved` is the most alerts one replica resolved.
 */
export async function applyAlertRecord(
  replicas: readonly AlertmanagerClient[],
  r: ChurnRisk,
  o: AlertOptions,
  onReplicaFailure: ReplicaFailure = () => undefined,
): Promise<{ fired: number; resolved: number }> {
  const outcomes = await Promise.allSettled(replicas.map((c) => applyToReplica(c, r, o)));
  const failures = outcomes.flatMap((x, i) =>
    // Rejections are errors: a ProcessorError, or a bug's Error (kept as thrown).
    x.status === 'rejected' ? [{ i, e: x.reason as Error }] : [],
  );
  const refused = failures.find(({ e }) => !(isProcessorError(e) && e.retriable));
  if (refused) throw refused.e;
  const applied = outcomes.flatMap((x) => (x.status === 'fulfilled' ? [x.value] : []));
  if (applied.length === 0) throw failures[0]?.e ?? new Error('no Alertmanager replica configured');
  for (const { i, e } of failures) onReplicaFailure(i, e);
  return {
    fired: applied[0]?.fired ?? 0,
    resolved: Math.max(...applied.map((a) => a.resolved)),
  };
}

/**
 * How long a replica that was unavailable is skipped, ms, when there are others. Why: a replica
 * that hangs (a dead pod whose address DNS still returns) costs each request the client's 10 s
 * timeout, and every record waits for the slowest replica; skipped, it fails at once.
 */
export const REPLICA_SKIP_MS = 30_000;

/**
 * `client` behind a circuit breaker (cockatiel): after an unavailable answer (a retriable error)
 * it fails fast with ALERTMANAGER_UNAVAILABLE for `skipMs`, then lets one attempt through.
 * Refusals (fatal errors) pass through and do not open it.
 */
export function skippingWhenUnavailable(
  client: AlertmanagerClient,
  skipMs = REPLICA_SKIP_MS,
): AlertmanagerClient {
  const breaker = circuitBreaker(
    handleWhen((e) => isProcessorError(e) && e.retriable),
    { halfOpenAfter: skipMs, breaker: new ConsecutiveBreaker(1) },
  );
  const run = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await breaker.execute(fn);
    } catch (e) {
      if (!isBrokenCircuitError(e)) throw e;
      throw new ProcessorError(
        'ALERTMANAGER_UNAVAILABLE',
        `Alertmanager replica skipped for up to ${skipMs} ms after it was unavailable`,
        { cause: e },
      );
    }
  };
  return {
    post: (alerts) => run(() => client.post(alerts)),
    find: (labels) => run(() => client.find(labels)),
  };
}

/**
 * The bridge's `apply`: each record's actions against every replica, stamped with the wall clock.
 * With more than one replica, each is skipped for a while after it was unavailable
 * (skippingWhenUnavailable); a single one is always asked, the bridge's retries pace it.
 */
export function alertApplier(
  replicas: readonly AlertmanagerClient[],
  o: Omit<AlertOptions, 'nowMs'>,
  nowMs: () => number = Date.now,
  onReplicaFailure?: ReplicaFailure,
): (r: ChurnRisk) => Promise<void> {
  const list = replicas.length > 1 ? replicas.map((c) => skippingWhenUnavailable(c)) : replicas;
  return async (r) => {
    await applyAlertRecord(list, r, { ...o, nowMs: nowMs() }, onReplicaFailure);
  };
}

/** `text` as a literal in an Alertmanager (RE2, fully anchored) regex matcher. */
function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
