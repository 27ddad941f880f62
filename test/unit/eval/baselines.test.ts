import { BASELINES, createBaseline } from '../../../src/eval/baselines';

const HOUR = 3_600_000;
const guards = { minHistoryEvents: 20, cooldownMs: 24 * HOUR, minEvidenceEvents: 12, hysteresisGap: 0.1 };

/** `n` events cycling over `cats`, one every 10 minutes from `start`. */
function stream(cats: string[], n: number, start: number): [string, number][] {
  return Array.from({ length: n }, (_, i) => [cats[i % cats.length] as string, start + i * 600_000]);
}

function alerts(name: (typeof BASELINES)[number], param: number, events: [string, number][]): number[] {
  const d = createBaseline(name, param, guards);
  return events.flatMap(([c, t], i) => (d.observe(c, t) ? [i] : []));
}

const PARAMS = { 'top-category-changed': 20, 'js-divergence': 0.7, 'page-hinkley': 5, adwin: 0.01 } as const;

describe('baseline detectors', () => {
  it.each(BASELINES)('%s stays quiet on a stable stream and fires after a switch', (name) => {
    const stable = stream(['a', 'a', 'a', 'b'], 300, 0);
    expect(alerts(name, PARAMS[name], stable)).toEqual([]);
    const switched = [...stable, ...stream(['x', 'y'], 100, 300 * 600_000)];
    const fired = alerts(name, PARAMS[name], switched);
    expect(fired.length).toBeGreaterThanOrEqual(1);
    expect(fired[0]).toBeGreaterThanOrEqual(300);
    expect(fired[0]).toBeLessThan(340);
  });

  it.each(BASELINES)('%s never alerts before the minimum history', (name) => {
    // A switch at event 5: only allowed to fire from event 20 on.
    const events = [...stream(['a'], 5, 0), ...stream(['z'], 60, 5 * 600_000)];
    const fired = alerts(name, PARAMS[name], events);
    expect(fired.every((i) => i >= guards.minHistoryEvents - 1)).toBe(true);
  });

  it('holds the cooldown between alerts', () => {
    // Three switches 100 events (1000 min ≈ 16.7 h) apart: the second falls in the cooldown.
    const events = [
      ...stream(['a', 'b'], 100, 0),
      ...stream(['c', 'd'], 100, 100 * 600_000),
      ...stream(['e', 'f'], 100, 200 * 600_000),
      ...stream(['g', 'h'], 100, 300 * 600_000),
    ];
    const fired = alerts('js-divergence', 0.7, events);
    for (let i = 1; i < fired.length; i++) {
      const dt =
        (events[fired[i] as number] as [string, number])[1] -
        (events[fired[i - 1] as number] as [string, number])[1];
      expect(dt).toBeGreaterThanOrEqual(guards.cooldownMs);
    }
    expect(fired.length).toBeGreaterThanOrEqual(2);
  });

  it('needs the evidence run: a short excursion to other categories does not fire (one event of evidence would)', () => {
    const excursion = [
      ...stream(['a', 'a', 'a', 'b'], 200, 0),
      ...stream(['x', 'y'], 25, 200 * 600_000), // a session elsewhere, then back
      ...stream(['a', 'a', 'a', 'b'], 200, 225 * 600_000),
    ];
    expect(alerts('js-divergence', 0.7, excursion)).toEqual([]);
    const loose = createBaseline('js-divergence', 0.7, { ...guards, minEvidenceEvents: 1 });
    expect(excursion.some(([c, t]) => loose.observe(c, t))).toBe(true);
  });

  it.each(BASELINES)(
    '%s alerts a user who stays in the new interests once (rebase), not again after the cooldown',
    (name) => {
      // 300 events before, then 1,000 events (≈ 7 days) in the new categories.
      const events = [...stream(['a', 'a', 'a', 'b'], 300, 0), ...stream(['x', 'y'], 1000, 300 * 600_000)];
      expect(alerts(name, PARAMS[name], events)).toHaveLength(1);
    },
  );
});
