/**
 * GET /metrics (Prometheus text), /healthz (liveness: the consumer loop turned recently),
 * /readyz (assigned partitions restored and the model loaded; 503 while stopping), and the
 * interest lookup (once the processor runs). Probes do no expensive work (STYLE.md §9).
 *
 * The socket is served by a thread of its own (http-worker.ts), so that a lookup answered from
 * its cache of committed answers never waits for this thread, which processes the input: its
 * event loop runs tens of ms late under load (garbage collection, a chunk's synchronous work),
 * and a lookup that waited for it took 32 ms at p99 against a 5 ms target
 * (test/bench/results/lookup.md). It also repeats a redirect to another instance, by partition,
 * for as long as this instance trusts the group's metadata. Everything else is routed here, as
 * before. `lookupFeed` keeps the cache equal to the committed states (lookup-cache.ts).
 */
import { extname, join } from 'node:path';
import type { Registry } from 'prom-client';
import type { UserState } from '../core/user-state';
import { ProcessorError } from '../shared/errors';
import { startModuleWorker } from '../shared/module-worker';
import type { CommittedStatesListener } from '../kafka/stream-processor';
import type { ApiResponse, InterestsResponse } from './interest-api';
import { matchInterestsPath } from './interest-api';
import type { CachedAnswer } from './lookup-cache';
import { WatchedUsers } from './lookup-cache';
import type { Forwarded, HttpWorkerData, Observed, Reply, ToWorker, Update } from './http-worker';

export interface HealthSource {
  /** Liveness: null if alive, else why not. */
  liveness(): string | null;
  /** Readiness: null if ready, else why not. */
  readiness(): string | null;
}

/**
 * The liveness rule of a Kafka consumer loop (the service's and the alert bridge's): alive until
 * its last fetch or heartbeat (`lastTurnMs`, wall-clock ms; 0 = none yet) is older than
 * max(60 s, 4 × the session timeout). Null if alive, else why not.
 */
export function consumerLoopLiveness(
  lastTurnMs: number,
  sessionTimeoutMs: number,
  nowMs = Date.now(),
): string | null {
  const limitMs = Math.max(60_000, 4 * sessionTimeoutMs);
  return lastTurnMs > 0 && nowMs - lastTurnMs > limitMs
    ? `consumer loop has not turned for ${nowMs - lastTurnMs} ms`
    : null;
}

/** The interest lookup, once the processor runs. */
export interface LookupRoutes {
  /** The answer for the path's raw (still URI-encoded) user id, from the processing thread. */
  interests(rawId: string): Promise<InterestsResponse>;
  /** The committed answer for a user's new state (null: deleted), for the cache. */
  answer(state: UserState | null): CachedAnswer;
}

/**
 * Called once per request when its response has been handed to the socket: the route's name
 * (`metrics`, `healthz`, `readyz`, `interests`, or `unmatched`: a bounded metric label, never the
 * path, which holds a user id), the status code, and seconds from the request's arrival at the
 * HTTP thread. Time a request waits before Node parses it is not in it. A request whose client
 * went away before the response was sent is not reported.
 */
export type RequestObserver = (route: string, status: number, seconds: number) => void;

/** Lookups answered from the cache (hits) and not (misses), and the users it holds. */
export type CacheObserver = (hits: number, misses: number, cachedUsers: number) => void;

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  /** Users whose lookup answers the HTTP thread holds at most (0: every lookup asks this thread). */
  readonly cacheUsers: number;
  /** Longest accepted user id, characters. */
  readonly maxIdLength: number;
  /** Wall-clock ms between the HTTP thread's reports to the observers. */
  readonly reportIntervalMs?: number;
}

export interface HttpServer {
  readonly port: number;
  /** Pass to the processor: keeps the lookup cache equal to its committed states. */
  readonly lookupFeed: CommittedStatesListener;
  /** Users whose answers this thread sends on commit (the HTTP thread's cache, as last told). */
  watchedUsers(): number;
  close(): Promise<void>;
}

/** The response to a request the HTTP thread handed over (not a cache hit). */
export async function routeRequest(
  method: string,
  url: string,
  registry: Registry,
  health: HealthSource,
  /** null: not yet (503, starting); false: this process serves no lookups (404, alert-bridge). */
  lookup: LookupRoutes | null | false,
  /** Told of a lookup that threw (a bug), which is answered 500. */
  onError: (e: unknown) => void = () => undefined,
): Promise<{ readonly route: string; readonly response: InterestsResponse }> {
  const text = (status: number, body: string, type = 'text/plain; charset=utf-8'): ApiResponse => ({
    status,
    headers: { 'content-type': type },
    body,
  });
  // HEAD answers as GET (Node sends no body): some load balancers and probes check with HEAD.
  if (method !== 'GET' && method !== 'HEAD') {
    const refused = text(405, 'method not allowed\n');
    return {
      route: 'unmatched',
      response: { ...refused, headers: { ...refused.headers, allow: 'GET, HEAD' } },
    };
  }
  switch (url) {
    case '/metrics':
      try {
        return { route: 'metrics', response: text(200, await registry.metrics(), registry.contentType) };
      } catch (e) {
        return { route: 'metrics', response: text(500, `metrics failed: ${String(e)}\n`) };
      }
    case '/healthz': {
      const why = health.liveness();
      return { route: 'healthz', response: why === null ? text(200, 'ok\n') : text(503, `${why}\n`) };
    }
    case '/readyz': {
      const why = health.readiness();
      return { route: 'readyz', response: why === null ? text(200, 'ready\n') : text(503, `${why}\n`) };
    }
    default: {
      const rawId = matchInterestsPath(url.split('?')[0] ?? '/');
      if (rawId === undefined || lookup === false)
        return { route: 'unmatched', response: text(404, 'not found\n') };
      if (!lookup) {
        // Still starting (model, Kafka): not "no such user".
        const starting = text(503, 'starting\n');
        return {
          route: 'interests',
          response: { ...starting, headers: { ...starting.headers, 'retry-after': '2' } },
        };
      }
      try {
        return { route: 'interests', response: await lookup.interests(rawId) };
      } catch (e) {
        onError(e);
        return { route: 'interests', response: text(500, 'lookup failed\n') };
      }
    }
  }
}

type FromWorker =
  | { readonly listening: number }
  | { readonly listenError: { readonly message: string; readonly code: string | null } }
  | { readonly request: Forwarded }
  | { readonly unwatch: readonly string[] }
  | { readonly observed: Observed };

export interface HttpServerHooks {
  readonly observe?: RequestObserver;
  readonly observeCache?: CacheObserver;
  /** The HTTP thread died (a bug: the service can no longer answer its probes). */
  readonly onFailure?: (e: Error) => void;
  /**
   * A committed change could not be turned into answers (a bug in the answer): the partition's
   * cached answers were dropped instead, so none can be stale; its lookups ask again.
   */
  readonly onFeedError?: (e: unknown) => void;
  /** A request threw (a bug) and was answered 500; before, nothing but the 500 said so. */
  readonly onRequestError?: (e: unknown) => void;
}

/** How long close() waits for the HTTP thread to finish its requests before it ends it, ms. */
const CLOSE_TIMEOUT_MS = 5_000;

/** Starts the HTTP thread and resolves once it listens. */
export async function startHttpServer(
  options: HttpServerOptions,
  registry: Registry,
  health: HealthSource,
  lookup: () => LookupRoutes | null | false,
  hooks: HttpServerHooks = {},
): Promise<HttpServer> {
  const { observe = () => undefined, observeCache = () => undefined } = hooks;
  const worker = startModuleWorker(join(__dirname, 'http-worker'), extname(__filename), {
    host: options.host,
    port: options.port,
    cacheUsers: options.cacheUsers,
    maxIdLength: options.maxIdLength,
    reportIntervalMs: options.reportIntervalMs ?? 250,
  } satisfies HttpWorkerData);
  const send = (m: ToWorker): void => worker.postMessage(m);
  const watched = new WatchedUsers();
  let caching = options.cacheUsers > 0;
  let closing = false;
  /** Rebalances begun: a redirect decided before the latest one must not be repeated. */
  let epoch = 0;

  const answer = async (f: Forwarded): Promise<void> => {
    const asOf = epoch;
    let reply: Reply;
    try {
      // A local answer is computed and watched within this one task (handleInterests awaits no
      // I/O on that path), so no commit can fall between reading the state and watching it.
      const { route, response } = await routeRequest(
        f.method,
        f.url,
        registry,
        health,
        lookup(),
        hooks.onRequestError,
      );
      const { local, remote, ...plain } = response;
      if (local && caching) watched.watch(local.userId, local.partition);
      reply = {
        id: f.id,
        route,
        ...plain,
        ...(local && caching ? { cache: local } : {}),
        ...(remote && caching ? { redirect: { ...remote, epoch: asOf } } : {}),
      };
    } catch (e) {
      hooks.onRequestError?.(e);
      reply = { id: f.id, route: 'unmatched', status: 500, headers: {}, body: 'internal error\n' };
    }
    send({ reply });
  };

  const port = await new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the HTTP thread exited with code ${code}`)));
    worker.on('message', (m: FromWorker) => {
      if ('listening' in m) resolve(m.listening);
      else if ('listenError' in m) {
        reject(
          Object.assign(
            new Error(`HTTP server on ${options.host}:${options.port}: ${m.listenError.message}`),
            {
              code: m.listenError.code,
            },
          ),
        );
      } else if ('request' in m) void answer(m.request);
      else if ('unwatch' in m) for (const id of m.unwatch) watched.unwatch(id);
      else if ('observed' in m) {
        for (const [route, status, seconds] of m.observed.requests) observe(route, status, seconds);
        observeCache(m.observed.hits, m.observed.misses, m.observed.cachedUsers);
      }
    });
  }).catch(async (e: unknown) => {
    await worker.terminate();
    throw e;
  });
  worker.removeAllListeners('error');
  worker.removeAllListeners('exit');
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const died = (why: string): void => {
    if (!closing) hooks.onFailure?.(new ProcessorError('INVARIANT_VIOLATED', `the HTTP thread ${why}`));
  };
  worker.on('error', (e: Error) => died(`failed: ${e.message}`));
  worker.on('exit', (code) => died(`exited with code ${code}`));

  const dropPartition = (partition: number): void => {
    watched.dropPartition(partition);
    send({ drop: partition });
  };
  const lookupFeed: CommittedStatesListener = {
    committed(partition, writes) {
      if (watched.size === 0) return;
      const routes = lookup();
      if (!routes) return;
      const updates: Update[] = [];
      try {
        for (const [userId, state] of writes) {
          if (!watched.has(userId)) continue;
          const a = routes.answer(state);
          updates.push([userId, a.status, a.body]);
        }
      } catch (e) {
        dropPartition(partition);
        hooks.onFeedError?.(e);
        return;
      }
      if (updates.length > 0) send({ updates });
    },
    rebalancing() {
      send({ rebalancing: ++epoch });
    },
    dropped: dropPartition,
    stopping() {
      caching = false;
      watched.clear();
      send({ clear: true });
    },
  };

  return {
    port,
    lookupFeed,
    watchedUsers: () => watched.size,
    close: async () => {
      if (closing) return exited;
      closing = true;
      send({ close: true });
      const timer = setTimeout(() => void worker.terminate(), CLOSE_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
