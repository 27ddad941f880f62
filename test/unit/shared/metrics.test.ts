import { Registry } from 'prom-client';
import { createMetrics } from '../../../src/shared/metrics';

describe('metric catalog', () => {
  const metrics = createMetrics(new Registry(), true);
  const all = metrics.registry.getMetricsAsArray().map((m) => ({
    name: m.name,
    type: (m as unknown as { type: string }).type,
    labels: (m as unknown as { labelNames?: string[] }).labelNames ?? [],
  }));

  it('follows Prometheus naming: one prefix, base units, _total on counters', () => {
    expect(all.length).toBeGreaterThan(30);
    for (const m of all) {
      expect(m.name).toMatch(/^idrift_[a-z0-9_]+$/);
      expect(m.name).not.toMatch(/_(ms|milliseconds|kb|mb)(_|$)/);
      expect(m.name).not.toMatch(/^idrift_process_process_/);
      if (m.type === 'counter') expect(m.name).toMatch(/_total$/);
      // prom-client's own nodejs_active_*_total are gauges of a count; ours never end in _total
      else if (!m.name.startsWith('idrift_nodejs_')) expect(m.name).not.toMatch(/_total$/);
    }
    const names = all.map((m) => m.name);
    expect(names).toEqual(
      expect.arrayContaining(['idrift_process_cpu_seconds_total', 'idrift_consumer_rebalances_total']),
    );
  });

  it('reports idrift_ready from the readiness probe at each scrape, falling back to 0 as /readyz does', async () => {
    const m = createMetrics(new Registry(), false);
    const ready = async () => (await m.ready.get()).values[0]?.value;
    expect(await ready()).toBe(0);
    let restored = true;
    m.setReadinessProbe(() => restored);
    expect(await ready()).toBe(1);
    restored = false; // a rebalance: a partition restores again
    expect(await ready()).toBe(0);
  });

  it('never labels by user: only bounded label names', () => {
    const allowed = new Set([
      'partition',
      'code',
      'outcome',
      'level',
      'trigger',
      'status',
      'provider',
      'requested',
      'dependency',
      'space',
      'type',
      'version',
      'major',
      'minor',
      'patch',
      'kind',
      'route',
    ]);
    for (const m of all) for (const l of m.labels) expect(allowed).toContain(l);
  });
});
