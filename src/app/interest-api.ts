/**
 * GET /v1/users/{userId}/interests: a user's current interests from the live, committed state of
 * the instance that owns the user's partition.
 *   200  the InterestView (core/interest-view.ts) as JSON
 *   307  another instance owns the partition: Location is the same path on its advertised URL
 *   400  malformed user id (empty, too long, control characters)
 *   404  no state for this user (never seen, erased or expired)
 *   503  + Retry-After: the partition is restoring, or its owner is not known yet (rebalance)
 * No user id ever reaches a log line: this module logs nothing.
 */
import type { InterestView } from '../core/interest-view';
import { interestView } from '../core/interest-view';
import type { ModelContext } from '../core/user-state';
import type { ChurnParams } from '../core/params';
import type { UserLookup } from '../kafka/stream-processor';

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

const PATH = /^\/v1\/users\/([^/]+)\/interests$/;

const json = (status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  body: `${JSON.stringify(body)}\n`,
});

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

export async function handleInterests(
  rawId: string,
  source: InterestSource,
  o: InterestApiOptions,
): Promise<ApiResponse> {
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
      if (!where.state) return json(404, { error: 'no state for this user' });
      return json(200, interestView(where.state, o.model, o.topN, o.churn) satisfies InterestView);
    case 'remote': {
      const owner = await source.ownerOf(where.partition);
      if (!owner || owner === o.selfUrl) {
        return json(
          503,
          { error: 'owner unknown (rebalancing)', partition: where.partition },
          { 'retry-after': '1' },
        );
      }
      const location = `${owner.replace(/\/$/, '')}/v1/users/${encodeURIComponent(userId)}/interests`;
      return json(307, { redirect: location, partition: where.partition }, { location });
    }
  }
}
