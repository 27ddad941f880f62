import { Registry, Histogram } from 'prom-client';
import { fractionAtMost, histogramDelta, quantileBound, readHistogram } from '../../bench/lib/prom-histogram';

describe('prom-histogram', () => {
  it('reads what prom-client writes, sums matching series and subtracts scrapes', async () => {
    const registry = new Registry();
    const h = new Histogram({
      name: 'x_seconds',
      help: 'x',
      labelNames: ['route', 'code'] as const,
      buckets: [0.001, 0.005, 0.1],
      registers: [registry],
    });
    h.observe({ route: 'interests', code: 200 }, 0.0005);
    h.observe({ route: 'metrics', code: 200 }, 0.5);
    const before = readHistogram(await registry.metrics(), 'x_seconds', { route: 'interests' });
    expect(before).toEqual({
      le: [0.001, 0.005, 0.1, Infinity],
      cumulative: [1, 1, 1, 1],
      count: 1,
      sumSeconds: 0.0005,
    });

    for (const s of [0.002, 0.003, 0.004, 0.05]) h.observe({ route: 'interests', code: 200 }, s);
    h.observe({ route: 'interests', code: 404 }, 2);
    const after = readHistogram(await registry.metrics(), 'x_seconds', { route: 'interests' });
    const d = histogramDelta(before, after);
    expect(d.count).toBe(5);
    expect(d.cumulative).toEqual([0, 3, 4, 5]);
    expect(d.sumSeconds).toBeCloseTo(2.059, 9);
    expect(quantileBound(d, 0.5)).toBe(0.005);
    expect(quantileBound(d, 0.8)).toBe(0.1);
    expect(quantileBound(d, 0.99)).toBe(Infinity);
    expect(fractionAtMost(d, 0.005)).toBeCloseTo(0.6, 12);
    expect(() => fractionAtMost(d, 0.004)).toThrow('not a bucket bound');
  });
});
