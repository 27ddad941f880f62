import { Registry } from 'prom-client';
import type { UserState } from '../../../src/core/user-state';
import type { HttpServer, LookupRoutes } from '../../../src/app/http-server';
import { consumerLoopLiveness, routeRequest, startHttpServer } from '../../../src/app/http-server';
import type { InterestsResponse } from '../../../src/app/interest-api';
import { JSON_HEADERS, redirectAnswer } from '../../../src/app/interest-api';
import type { PartitionMetadata } from 'kafkajs';
import { Partitioners } from 'kafkajs';

const until = async (done: () => boolean): Promise<void> => {
  for (let i = 0; !done() && i < 200; i++) await new Promise((r) => setTimeout(r, 10));
};

/**
 * A processing thread's lookup with states by user id (a state here is only its view's body) and
 * the users it was asked for. Ids starting "barrier-" get a 503, which is never cached: a round
 * trip through both threads that the tests use as an ordering barrier.
 */
function fakeLookup(partitionOf: (userId: string) => number): {
  routes: LookupRoutes;
  states: Map<string, string>;
  asked: string[];
} {
  const states = new Map<string, string>();
  const asked: string[] = [];
  const answer = (body: string | undefined): { status: 200 | 404; body: string } =>
    body === undefined
      ? { status: 404, body: '{"error":"no state for this user"}\n' }
      : { status: 200, body };
  const routes: LookupRoutes = {
    interests: (rawId): Promise<InterestsResponse> => {
      const userId = decodeURIComponent(rawId);
      if (userId.startsWith('barrier-'))
        return Promise.resolve({ status: 503, headers: JSON_HEADERS, body: '{}\n' });
      asked.push(userId);
      return Promise.resolve({
        ...answer(states.get(userId)),
        headers: JSON_HEADERS,
        local: { userId, partition: partitionOf(userId) },
      });
    },
    answer: (state) => answer(state === null ? undefined : (state as unknown as { body: string }).body),
  };
  return { routes, states, asked };
}

const stateWithBody = (body: string): UserState => ({ body }) as unknown as UserState;

describe('HTTP server', () => {
  it('reports each request once with its route name, never its path', async () => {
    const seen: [string, number, number][] = [];
    const ok: InterestsResponse = {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: '{}\n',
    };
    const http = await startHttpServer(
      { host: '127.0.0.1', port: 0, cacheUsers: 0, maxIdLength: 64, reportIntervalMs: 20 },
      new Registry(),
      { liveness: () => null, readiness: () => 'restoring' },
      () => ({ interests: () => Promise.resolve(ok), answer: () => ({ status: 404, body: '' }) }),
      { observe: (route, status, seconds) => seen.push([route, status, seconds]) },
    );
    try {
      const base = `http://127.0.0.1:${http.port}`;
      const statuses = [
        (await fetch(`${base}/healthz`)).status,
        (await fetch(`${base}/readyz`)).status,
        (await fetch(`${base}/metrics`)).status,
        (await fetch(`${base}/v1/users/some-user-id/interests`)).status,
        (await fetch(`${base}/elsewhere`)).status,
        (await fetch(`${base}/healthz`, { method: 'POST' })).status,
        (await fetch(`${base}/readyz`, { method: 'HEAD' })).status,
      ];
      expect(statuses).toEqual([200, 503, 200, 200, 404, 405, 503]);
      await until(() => seen.length >= statuses.length);
      expect(seen.map(([route, status]) => [route, status])).toEqual([
        ['healthz', 200],
        ['readyz', 503],
        ['metrics', 200],
        ['interests', 200],
        ['unmatched', 404],
        ['unmatched', 405],
        ['readyz', 503],
      ]);
      for (const [, , seconds] of seen) {
        expect(seconds).toBeGreaterThanOrEqual(0);
        expect(seconds).toBeLessThan(5);
      }
      expect(JSON.stringify(seen)).not.toContain('some-user-id');
      // HEAD: the status of GET, no body.
      const head = await fetch(`${base}/healthz`, { method: 'HEAD' });
      expect([head.status, await head.text()]).toEqual([200, '']);
    } finally {
      await http.close();
    }
  });

  it('reports a port already in use as a start failure', async () => {
    const first = await startHttpServer(
      { host: '127.0.0.1', port: 0, cacheUsers: 0, maxIdLength: 64 },
      new Registry(),
      { liveness: () => null, readiness: () => null },
      () => null,
    );
    try {
      await expect(
        startHttpServer(
          { host: '127.0.0.1', port: first.port, cacheUsers: 0, maxIdLength: 64 },
          new Registry(),
          { liveness: () => null, readiness: () => null },
          () => null,
        ),
      ).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await first.close();
    }
  });
});

describe('HTTP thread lookup cache', () => {
  let http: HttpServer;
  let lookup: ReturnType<typeof fakeLookup>;
  const counts = { hits: 0, misses: 0, cachedUsers: 0 };
  const get = async (userId: string): Promise<[number, string]> => {
    const r = await fetch(`http://127.0.0.1:${http.port}/v1/users/${encodeURIComponent(userId)}/interests`);
    return [r.status, await r.text()];
  };
  /**
   * Each thread handles the other's messages in order: once a request has gone to the processing
   * thread and back, each has handled what the other sent before it.
   */
  const settled = async (): Promise<void> => {
    expect((await get('barrier-x'))[0]).toBe(503);
  };

  beforeEach(async () => {
    lookup = fakeLookup((userId) => (userId.startsWith('p1-') ? 1 : 0));
    Object.assign(counts, { hits: 0, misses: 0, cachedUsers: 0 });
    http = await startHttpServer(
      { host: '127.0.0.1', port: 0, cacheUsers: 2, maxIdLength: 64, reportIntervalMs: 20 },
      new Registry(),
      { liveness: () => null, readiness: () => null },
      () => lookup.routes,
      {
        observeCache: (hits, misses, cachedUsers) => {
          counts.hits += hits;
          counts.misses += misses;
          counts.cachedUsers = cachedUsers;
        },
      },
    );
  });
  afterEach(() => http.close());

  it('answers a user looked up before without the processing thread, and follows its commits', async () => {
    lookup.states.set('u1', '{"v":1}\n');
    expect(await get('u1')).toEqual([200, '{"v":1}\n']);
    expect(await get('u1')).toEqual([200, '{"v":1}\n']);
    expect(lookup.asked).toEqual(['u1']);

    // A commit that changes u1 (and u2, never looked up: nothing is sent for it).
    lookup.states.set('u1', 'not committed: the cache must not read this');
    http.lookupFeed.committed(
      0,
      new Map([
        ['u1', stateWithBody('{"v":2}\n')],
        ['u2', stateWithBody('{"u2":1}\n')],
      ]),
    );
    await settled();
    expect(await get('u1')).toEqual([200, '{"v":2}\n']);
    expect(lookup.asked).toEqual(['u1']); // still only the first lookup

    // Erased: the committed answer becomes 404, still without asking.
    http.lookupFeed.committed(0, new Map([['u1', null]]));
    await settled();
    expect((await get('u1'))[0]).toBe(404);
    expect(lookup.asked).toEqual(['u1']);

    await until(() => counts.hits >= 3 && counts.misses >= 3);
    expect([counts.hits, counts.misses]).toEqual([3, 3]); // misses: u1 once, the barrier twice
  });

  it('forgets a revoked partition, everything at stop, and the least recently looked up beyond its size', async () => {
    for (const u of ['a', 'p1-b']) lookup.states.set(u, `{"${u}":1}\n`);
    await get('a');
    await get('p1-b');
    http.lookupFeed.dropped(1);
    await settled();
    expect(http.watchedUsers()).toBe(1); // 'a'
    lookup.asked.length = 0;
    await get('a');
    await get('p1-b');
    expect(lookup.asked).toEqual(['p1-b']); // 'a' stayed; 'p1-b' was dropped with partition 1

    // Size 2: holding 'p1-b' and 'a', a miss for 'c' evicts 'a' (least recently looked up)...
    lookup.asked.length = 0;
    await get('c');
    await get('p1-b');
    await get('a');
    expect(lookup.asked).toEqual(['c', 'a']);
    // ...and the processing thread stops sending answers for an evicted user ('c', by 'a' just
    // now); one it sent meanwhile is not held.
    await settled();
    expect(http.watchedUsers()).toBe(2); // 'p1-b' and 'a'
    http.lookupFeed.committed(0, new Map([['c', stateWithBody('{"c":2}\n')]]));
    lookup.asked.length = 0;
    await get('c');
    expect(lookup.asked).toEqual(['c']);

    http.lookupFeed.stopping();
    expect(http.watchedUsers()).toBe(0);
    lookup.asked.length = 0;
    await get('c');
    await get('c');
    expect(lookup.asked).toEqual(['c', 'c']);
  });

  it('repeats a redirect for users of the same partition until the group rebalances', async () => {
    // Users "r-…" live on another instance; four input partitions.
    const metadata = [0, 1, 2, 3].map((i) => ({ partitionId: i, leader: 0 }) as PartitionMetadata);
    // The producers' partitioner itself, not the module under test's: redirects must follow it.
    const producers = Partitioners.DefaultPartitioner();
    const partitionOf = (u: string): number =>
      producers({ topic: 'input', partitionMetadata: metadata, message: { key: u, value: null } });
    const owner = 'http://10.0.0.2:9464';
    const routes = lookup.routes;
    const local = (rawId: string): Promise<InterestsResponse> => routes.interests(rawId);
    lookup.routes = { ...routes };
    /** While set, the owner lookup waits for it (a DescribeGroups in flight). */
    let ownerKnown: Promise<void> | null = null;
    lookup.routes.interests = async (rawId) => {
      const userId = decodeURIComponent(rawId);
      if (!userId.startsWith('r-')) return local(rawId);
      lookup.asked.push(userId);
      const partition = partitionOf(userId);
      if (ownerKnown) await ownerKnown;
      return {
        ...redirectAnswer(userId, partition, owner),
        remote: { partition, owner, partitions: 4 },
      };
    };
    const ids = Array.from({ length: 20 }, (_, i) => `r-${i}`);
    const [x, y] = ids.filter((u) => partitionOf(u) === partitionOf('r-0'));
    const other = ids.find((u) => partitionOf(u) !== partitionOf('r-0')) as string;
    const redirect = async (u: string): Promise<[number, string | null]> => {
      const r = await fetch(`http://127.0.0.1:${http.port}/v1/users/${u}/interests`, { redirect: 'manual' });
      return [r.status, r.headers.get('location')];
    };
    expect(await redirect(x as string)).toEqual([307, `${owner}/v1/users/${x}/interests`]);
    expect(await redirect(y as string)).toEqual([307, `${owner}/v1/users/${y}/interests`]);
    expect(lookup.asked).toEqual([x]);
    await redirect(other);
    expect(lookup.asked).toEqual([x, other]);

    http.lookupFeed.rebalancing();
    await settled();
    lookup.asked.length = 0;
    await redirect(y as string);
    expect(lookup.asked).toEqual([y]);

    // A redirect decided before a rebalance and answered after it is not repeated.
    http.lookupFeed.rebalancing();
    await settled();
    let known = (): void => undefined;
    ownerKnown = new Promise((r) => (known = r));
    const inFlight = redirect(other);
    await until(() => lookup.asked.includes(other));
    http.lookupFeed.rebalancing();
    known();
    expect((await inFlight)[0]).toBe(307);
    ownerKnown = null;
    lookup.asked.length = 0;
    await redirect(other);
    expect(lookup.asked).toEqual([other]);
  });

  it('hands an invalid id to the processing thread, which rejects it', async () => {
    lookup.routes.interests = () =>
      Promise.resolve({ status: 400, headers: JSON_HEADERS, body: '{"error":"invalid user id"}\n' });
    expect((await get('x'.repeat(65)))[0]).toBe(400);
  });
});

describe('routeRequest', () => {
  const health = { liveness: () => null, readiness: () => 'state starting' };

  it('answers 500 to a lookup that throws, and tells of it', async () => {
    const errors: unknown[] = [];
    const bug = new TypeError("Cannot read properties of undefined (reading 'segment')");
    const throwing = { interests: () => Promise.reject(bug), answer: () => ({ status: 200, body: '' }) };
    const r = await routeRequest(
      'GET',
      '/v1/users/u1/interests',
      new Registry(),
      health,
      throwing as unknown as LookupRoutes,
      (e) => errors.push(e),
    );
    expect([r.route, r.response.status]).toEqual(['interests', 500]);
    expect(errors).toEqual([bug]);
  });

  it('answers a lookup 503 with Retry-After while the service starts, and 404 only off the API', async () => {
    const starting = await routeRequest('GET', '/v1/users/u1/interests', new Registry(), health, null);
    expect([starting.route, starting.response.status, starting.response.headers['retry-after']]).toEqual([
      'interests',
      503,
      '2',
    ]);
    expect((await routeRequest('GET', '/v1/users/u1', new Registry(), health, null)).response.status).toBe(
      404,
    );
  });

  it('answers 405 with the methods it allows', async () => {
    const r = await routeRequest('POST', '/v1/users/u1/interests', new Registry(), health, null);
    expect([r.response.status, r.response.headers.allow]).toEqual([405, 'GET, HEAD']);
  });
});

describe('consumerLoopLiveness', () => {
  it('is alive until the last turn is older than max(60 s, 4 × the session timeout)', () => {
    const now = 1_000_000_000;
    expect(consumerLoopLiveness(0, 10_000, now)).toBeNull(); // no turn yet: starting
    expect(consumerLoopLiveness(now - 60_000, 10_000, now)).toBeNull();
    expect(consumerLoopLiveness(now - 60_001, 10_000, now)).toBe('consumer loop has not turned for 60001 ms');
    expect(consumerLoopLiveness(now - 120_000, 30_000, now)).toBeNull();
    expect(consumerLoopLiveness(now - 120_001, 30_000, now)).not.toBeNull();
  });
});
