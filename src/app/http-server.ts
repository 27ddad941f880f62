/**
 * GET /metrics (Prometheus text), /healthz (liveness: the consumer loop turned recently),
 * /readyz (assigned partitions restored and the model loaded; 503 while stopping), and the
 * routes of `api` (the interest lookup, once the processor runs). Probes do no expensive work
 * (STYLE.md §9).
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { ApiResponse } from './interest-api';

export interface HealthSource {
  /** Liveness: null if alive, else why not. */
  liveness(): string | null;
  /** Readiness: null if ready, else why not. */
  readiness(): string | null;
}

/**
 * Extra GET routes: the route's name (a bounded metric label, never the path: paths hold user ids)
 * and its response, or undefined when the path is not theirs.
 */
export type ApiRoutes = (
  pathname: string,
) => { readonly route: string; readonly response: Promise<ApiResponse> } | undefined;

/**
 * Called once per request when its response has been handed to the socket: the route's name
 * (`metrics`, `healthz`, `readyz`, an API route's, or `unmatched`), the status code, and seconds
 * from the request's arrival at the handler. Time a request waits before Node parses it (a busy
 * event loop) is not in it; the client's latency minus this is that wait. A request whose client
 * went away before the response was sent is not reported.
 */
export type RequestObserver = (route: string, status: number, seconds: number) => void;

export async function startHttpServer(
  host: string,
  port: number,
  registry: Registry,
  health: HealthSource,
  api: () => ApiRoutes | null = () => null,
  observe: RequestObserver = () => undefined,
): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const start = process.hrtime.bigint();
    let route = 'unmatched';
    res.once('finish', () => observe(route, res.statusCode, Number(process.hrtime.bigint() - start) / 1e9));
    const reply = (status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET') return reply(405, 'method not allowed\n');
    switch (req.url) {
      case '/metrics':
        route = 'metrics';
        registry.metrics().then(
          (text) => reply(200, text, registry.contentType),
          (e: unknown) => reply(500, `metrics failed: ${String(e)}\n`),
        );
        return;
      case '/healthz': {
        route = 'healthz';
        const why = health.liveness();
        return why === null ? reply(200, 'ok\n') : reply(503, `${why}\n`);
      }
      case '/readyz': {
        route = 'readyz';
        const why = health.readiness();
        return why === null ? reply(200, 'ready\n') : reply(503, `${why}\n`);
      }
      default: {
        const pathname = (req.url ?? '/').split('?')[0] ?? '/';
        const answer = api()?.(pathname);
        if (!answer) return reply(404, 'not found\n');
        route = answer.route;
        answer.response.then(
          (r) => {
            res.writeHead(r.status, r.headers);
            res.end(r.body);
          },
          () => reply(500, 'lookup failed\n'),
        );
        return;
      }
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    server,
    port: actual,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
