import { Registry } from 'prom-client';
import type { ApiResponse } from '../../../src/app/interest-api';
import { startHttpServer } from '../../../src/app/http-server';

describe('HTTP server request observer', () => {
  it('reports each request once with its route name, never its path', async () => {
    const seen: [string, number, number][] = [];
    const ok: ApiResponse = { status: 200, headers: { 'content-type': 'application/json' }, body: '{}\n' };
    const http = await startHttpServer(
      '127.0.0.1',
      0,
      new Registry(),
      { liveness: () => null, readiness: () => 'restoring' },
      () => (path) =>
        path.startsWith('/v1/users/') ? { route: 'interests', response: Promise.resolve(ok) } : undefined,
      (route, status, seconds) => seen.push([route, status, seconds]),
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
      ];
      expect(statuses).toEqual([200, 503, 200, 200, 404, 405]);
      // 'finish' is emitted after the response is flushed, which may be after the client has it.
      for (let i = 0; seen.length < statuses.length && i < 100; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(seen.map(([route, status]) => [route, status])).toEqual([
        ['healthz', 200],
        ['readyz', 503],
        ['metrics', 200],
        ['interests', 200],
        ['unmatched', 404],
        ['unmatched', 405],
      ]);
      for (const [, , seconds] of seen) {
        expect(seconds).toBeGreaterThanOrEqual(0);
        expect(seconds).toBeLessThan(5);
      }
      expect(JSON.stringify(seen)).not.toContain('some-user-id');
    } finally {
      await http.close();
    }
  });
});
