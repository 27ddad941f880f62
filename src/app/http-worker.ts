/**
 * Entry of the HTTP thread (http-server.ts): owns the listening socket. A lookup of a user whose
 * committed answer is in the cache (lookup-cache.ts), or of a user of a partition whose owner
 * elsewhere the processing thread has just redirected to, is answered here, without the
 * processing thread; every other request (a miss, /metrics, the probes, anything unknown) is
 * handed to the processing thread and its answer written back. This module logs nothing (no
 * user id may reach a log line).
 *
 * Messages in:  { reply: Reply } | { updates: [userId, status, body][] } | { drop: partition }
 *               | { rebalancing: epoch } | { clear: true } | { close: true }
 * Messages out: { listening: port } | { listenError: { message, code } } | { request: Forwarded }
 *               | { unwatch: userId[] } | { observed: Observed }
 */
import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { keyPartition } from '../kafka/key-partitioner';
import { OWNERS_MAX_AGE_MS } from '../kafka/partition-owners';
import type { ApiResponse } from './interest-api';
import { JSON_HEADERS, matchInterestsPath, redirectAnswer, validUserId } from './interest-api';
import { LookupCache, OwnerCache } from './lookup-cache';

export interface HttpWorkerData {
  readonly host: string;
  readonly port: number;
  /** Users whose answers the cache holds at most (0: no cache). */
  readonly cacheUsers: number;
  /** Longest accepted user id, characters. */
  readonly maxIdLength: number;
  /** Wall-clock ms between reports of the requests answered (`observed`). */
  readonly reportIntervalMs: number;
}

/** A request the processing thread answers. */
export interface Forwarded {
  readonly id: number;
  readonly method: string;
  readonly url: string;
}

/**
 * The processing thread's answer; `cache` when it may be held (a local, committed answer),
 * `redirect` when it redirects to the owner of the user's partition (of `partitions`), as known
 * when the request arrived in rebalance `epoch`.
 */
export interface Reply {
  readonly id: number;
  readonly route: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly cache?: { readonly userId: string; readonly partition: number };
  readonly redirect?: {
    readonly partition: number;
    readonly owner: string;
    readonly partitions: number;
    readonly epoch: number;
  };
}

/** Requests answered since the last report: [route, status, seconds from arrival to sent]. */
export interface Observed {
  readonly requests: [string, number, number][];
  readonly hits: number;
  readonly misses: number;
  readonly cachedUsers: number;
}

export type Update = [userId: string, status: 200 | 404, body: string];

export type ToWorker =
  | { readonly reply: Reply }
  | { readonly updates: readonly Update[] }
  | { readonly drop: number }
  | { readonly rebalancing: number }
  | { readonly clear: true }
  | { readonly close: true };

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('http-worker.ts runs as a worker thread only');
  const data = workerData as HttpWorkerData;
  const cache = new LookupCache(data.cacheUsers);
  const owners = new OwnerCache(OWNERS_MAX_AGE_MS);
  /** The group's rebalances seen (a redirect decided before the latest one is not repeated). */
  let epoch = 0;
  /** The answer this thread can give for a valid user id, or undefined (a miss). */
  const answerHere = (userId: string): ApiResponse | undefined => {
    const hit = cache.get(userId);
    if (hit) return { status: hit.status, headers: JSON_HEADERS, body: hit.body };
    if (owners.partitions === 0) return undefined;
    const partition = keyPartition(userId, owners.partitions);
    const owner = owners.ownerOf(partition);
    return owner === undefined ? undefined : redirectAnswer(userId, partition, owner);
  };
  /**
   * Requests sent to the processing thread and not answered yet, oldest first (ids only grow),
   * with the setter of their route's name; kept until the answer comes, even if the client left.
   */
  const pending = new Map<
    number,
    { readonly res: ServerResponse; readonly named: (route: string) => void }
  >();
  let nextId = 0;
  let replies = 0;
  let requests: [string, number, number][] = [];
  let hits = 0;
  let misses = 0;

  const observe = (res: ServerResponse, route: () => string): void => {
    const start = process.hrtime.bigint();
    // A request whose client went away before the response was sent is not reported.
    res.once('finish', () =>
      requests.push([route(), res.statusCode, Number(process.hrtime.bigint() - start) / 1e9]),
    );
  };

  const server = createServer((req, res) => {
    let route = 'interests';
    observe(res, () => route);
    const url = req.url ?? '/';
    if (req.method === 'GET') {
      const rawId = matchInterestsPath(url.split('?')[0] ?? '/');
      const userId = rawId === undefined ? null : validUserId(rawId, data.maxIdLength);
      const answer = userId === null ? undefined : answerHere(userId);
      if (answer) {
        hits++;
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
        return;
      }
      if (userId !== null) misses++;
    }
    // The route's name comes with the reply: the processing thread routes.
    const id = nextId++;
    pending.set(id, { res, named: (r) => (route = r) });
    port.postMessage({ request: { id, method: req.method ?? 'GET', url } satisfies Forwarded });
  });

  const answered = (r: Reply): void => {
    const p = pending.get(r.id);
    pending.delete(r.id);
    if (r.cache) {
      const answer = { status: r.status as 200 | 404, body: r.body };
      const evicted = cache.admit(r.cache.userId, r.cache.partition, answer, r.id, nextId);
      if (evicted.length > 0) port.postMessage({ unwatch: evicted });
    }
    // Forget old evictions: at once when nothing is outstanding, else now and then (under steady
    // misses there may never be a moment with nothing outstanding).
    if (pending.size === 0) cache.settle(null);
    else if (++replies % 1024 === 0) cache.settle(pending.keys().next().value as number);
    if (r.redirect && r.redirect.epoch === epoch) {
      owners.learn(r.redirect.partition, r.redirect.owner, r.redirect.partitions);
    }
    if (!p || p.res.destroyed) return; // the client went away
    const { res, named } = p;
    named(r.route);
    res.writeHead(r.status, r.headers);
    res.end(r.body);
  };

  const flush = (): void => {
    if (requests.length === 0 && hits === 0 && misses === 0) return;
    port.postMessage({
      observed: { requests, hits, misses, cachedUsers: cache.size } satisfies Observed,
    });
    requests = [];
    hits = 0;
    misses = 0;
  };
  const report = setInterval(flush, data.reportIntervalMs);

  port.on('message', (m: ToWorker) => {
    if ('reply' in m) answered(m.reply);
    else if ('updates' in m)
      for (const [userId, status, body] of m.updates) cache.update(userId, { status, body });
    else if ('drop' in m) cache.dropPartition(m.drop);
    else if ('rebalancing' in m) {
      epoch = m.rebalancing;
      owners.clear();
    } else if ('clear' in m) {
      cache.clear();
      owners.clear();
    } else if ('close' in m) {
      clearInterval(report);
      server.close(() => port.close());
      server.closeAllConnections();
    }
  });

  server.once('error', (e: NodeJS.ErrnoException) => {
    clearInterval(report);
    port.postMessage({ listenError: { message: e.message, code: e.code ?? null } });
    port.close();
  });
  server.listen(data.port, data.host, () => {
    port.postMessage({ listening: (server.address() as AddressInfo).port });
  });
}

main();
