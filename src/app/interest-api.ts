/**
 * GET /v1/users/{userId}/interests: a user's current interests from the live, committed state of
 * the instance that owns the user's partition. This module answers on the processing thread; the
 * HTTP thread answers repeat lookups from its cache of these answers (http-server.ts).
 *   200  the InterestView (core/interest-view.ts) as JSON
 *   307  another instance owns the partition: Location is the same path on its advertised URL
 *   400  malformed user id (empty, too long, control characters)
 *   404  no state for this user (never seen, erased or expired)
 *   503  + Retry-After: the partition is restoring, or its owner is not known yet (rebalance)
 * No user id ever reaches a log line: this module logs nothing.
 */
import type { InterestView } from '../core/interest-view';
import { interestView } from '../core/interest-view';
import type { ModelContext, UserState } from '../core/user-state';
import type { ChurnParams } from '../core/params';
import type { UserLookup } from '../kafka/stream-processor';
import type { CachedAnswer } from './lookup-cache';

export interface InterestSource {
  lookup(userId: string): UserLookup;
  ownerOf(partition: number): Promise<string | null>;
}

export interface InterestApiOptions {
  readonly model: ModelContext;
  /** The churn scoring the processor runs (its hazard gives the answer's probability). */
  readonly churn: Pick<ChurnParams, 'hazard'> | null;
  /** Categories per horizon in the answer. */
  readonly topN: number;
  /** Longest accepted user id, characters. */
  readonly maxIdLength: number;
  /** This instance's own advertised URL: never redirect to it. */
  readonly selfUrl: string | null;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * An interests answer; `local` when it comes from this instance's committed state (cacheable),
 * `remote` when it redirects to the owner of the user's partition (of `partitions`).
 */
export interface InterestsResponse extends ApiResponse {
  readonly local?: { readonly userId: string; readonly partition: number };
  readonly remote?: { readonly partition: number; readonly owner: string; readonly partitions: number };
}

// An empty id matches too, so that it is answered 400 (invalid id) rather than 404.
const PATH = /^\/v1\/users\/([^/]*)\/interests$/;

/** The headers of every JSON answer (a cached one included). */
export const JSON_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
};

const jsonBody = (body: unknown): string => `${JSON.stringify(body)}\n`;

const json = (status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse => ({
  status,
  headers: { ...JSON_HEADERS, ...headers },
  body: jsonBody(body),
});

/** The answer for a user of a partition this instance owns and has restored: 200, or 404 without state. */
export function localAnswer(state: UserState | null | undefined, o: InterestApiOptions): CachedAnswer {
  if (!state) return { status: 404, body: jsonBody({ error: 'no state for this user' }) };
  return {
    status: 200,
    body: jsonBody(interestView(state, o.model, o.topN, o.churn) satisfies InterestView),
  };
}

/** The user id of an interests path; undefined when the path is not one. */
export function matchInterestsPath(pathname: string): string | undefined {
  return PATH.exec(pathname)?.[1];
}

export function validUserId(raw: string, maxLength: number): string | null {
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    return null;
  }
  // eslint-disable-next-line no-control-regex
  if (id.length === 0 || id.length > maxLength || /[\u0000-\u001f\u007f]/.test(id)) return null;
  return id;
}

/** The redirect to `owner`, the instance that owns the user's partition. */
export function redirectAnswer(userId: string, partition: number, owner: string): ApiResponse {
  const location = `${owner.replace(/\/$/, '')}/v1/users/${encodeURIComponent(userId)}/interests`;
  return json(307, { redirect: location, partition }, { location });
}

/** How long a lookup waits for the group's metadata to name a partition's owner, ms. */
export const OWNER_LOOKUP_TIMEOUT_MS = 1_000;

/** `p`, or a rejection after `ms`. */
function withinMs<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export async function handleInterests(
  rawId: string,
  source: InterestSource,
  o: InterestApiOptions,
): Promise<InterestsResponse> {
  const userId = validUserId(rawId, o.maxIdLength);
  if (userId === null) {
    return json(400, {
      error: 'invalid user id',
      detail: `1 to ${o.maxIdLength} characters, no control characters`,
    });
  }
  const where = source.lookup(userId);
  switch (where.kind) {
    case 'unavailable':
      return json(503, { error: 'not running' }, { 'retry-after': '2' });
    case 'restoring':
      return json(503, { error: 'partition restoring', partition: where.partition }, { 'retry-after': '2' });
    case 'local':
      return {
        ...localAnswer(where.state, o),
        headers: JSON_HEADERS,
        local: { userId, partition: where.partition },
      };
    case 'remote': {
      // The owners come from the group's metadata (DescribeGroups): a failed or slow answer is a
      // transient condition for the client to retry, not a server error.
      const owner = await withinMs(source.ownerOf(where.partition), OWNER_LOOKUP_TIMEOUT_MS).catch(
        () => undefined,
      );
      if (owner === undefined) {
        return json(
          503,
          { error: 'owner lookup failed', partition: where.partition },
          { 'retry-after': '1' },
        );
      }
      if (!owner || owner === o.selfUrl) {
        return json(
          503,
          { error: 'owner unknown (rebalancing)', partition: where.partition },
          { 'retry-after': '1' },
        );
      }
      return {
        ...redirectAnswer(userId, where.partition, owner),
        remote: { partition: where.partition, owner, partitions: where.partitions },
      };
    }
  }
}
