import { gated } from '../../../src/eval/baselines';
import type { CandidateName } from '../../../src/eval/drift-candidates';
import { ExcessNovelty, SessionHomeCusum, candidates } from '../../../src/eval/drift-candidates';

const MIN = 60_000;
const HOUR = 60 * MIN;
const guards = { minHistoryEvents: 20, cooldownMs: 24 * HOUR, minEvidenceEvents: 12, hysteresisGap: 0.1 };
const prior = (): number => 1e-4;

/** `sessions` sessions of 5 events (2 min apart), 6 h apart; session k draws from `pick(k, i)`. */
function sessions(n: number, start: number, pick: (k: number, i: number) => string): [string, number][] {
  const out: [string, number][] = [];
  for (let k = 0; k < n; k++)
    for (let i = 0; i < 5; i++) out.push([pick(k, i), start + k * 6 * HOUR + i * 2 * MIN]);
  return out;
}

const home = (k: number, i: number): string => ['a', 'b', 'c'][(k + i) % 3] as string;
/** A switch to 12 new categories (excess-novelty needs a switch that keeps showing new ones, see below). */
const away = (k: number, i: number): string => `x${(5 * k + i) % 12}`;

/** A mid-grid threshold per candidate, one that alerts on the switch below. */
const PARAM: Record<CandidateName, number> = {
  'excess-novelty': 0.5,
  'session-home-loss': 0.9,
  'session-home-cusum': 6,
  'g-test': 6,
  'change-points': 0.99,
};

function fired(name: CandidateName, events: [string, number][]): number[] {
  const c = candidates(prior).find((x) => x.name === name);
  if (!c) throw new Error(name);
  const d = c.create(PARAM[name], guards);
  return events.flatMap(([cat, t], i) => (d.observe(cat, t) ? [i] : []));
}

describe('drift candidates', () => {
  const names = candidates(prior).map((c) => c.name);

  it.each(names)('%s stays quiet on a stable user and fires after a switch to new categories', (name) => {
    const stable = sessions(30, 0, home);
    expect(fired(name, stable)).toEqual([]);
    const switched = [...stable, ...sessions(12, 30 * 6 * HOUR, away)];
    const at = fired(name, switched);
    expect(at.length).toBeGreaterThanOrEqual(1);
    expect(at[0]).toBeGreaterThanOrEqual(stable.length);
    expect(at[0]).toBeLessThan(stable.length + 40);
  });

  it('excess-novelty misses a switch to a few categories: they join the reference after one window', () => {
    const few = (k: number, i: number): string => ['x', 'y', 'z'][(k + i) % 3] as string;
    const events = [...sessions(30, 0, home), ...sessions(12, 30 * 6 * HOUR, few)];
    expect(fired('excess-novelty', events)).toEqual([]);
    expect(fired('session-home-loss', events).length).toBeGreaterThanOrEqual(1);
  });

  it('session-home-loss counts sessions, not events: one long session elsewhere does not fire', () => {
    const longAway: [string, number][] = Array.from({ length: 40 }, (_, i) => [
      ['x', 'y'][i % 2] as string,
      30 * 6 * HOUR + i * 2 * MIN,
    ]);
    const events = [...sessions(30, 0, home), ...longAway, ...sessions(10, 31 * 6 * HOUR, home)];
    expect(fired('session-home-loss', events)).toEqual([]);
  });

  it('excess-novelty is breadth-aware: a user who always explores new categories is not a migration', () => {
    let fresh = 0;
    // Every other event is a category never seen before; the rest are home.
    const explorer = sessions(40, 0, (k, i) => ((k + i) % 2 === 0 ? `new-${fresh++}` : home(k, i)));
    const d = gated(new ExcessNovelty(20), {
      enterThreshold: 0.5,
      exitThreshold: 0.4,
      minEvidenceEvents: 12,
      minHistoryEvents: 20,
      cooldownMs: 24 * HOUR,
      embeddingWeight: 0,
    });
    expect(explorer.filter(([c, t]) => d.observe(c, t))).toEqual([]);
  });

  it('the known-home CUSUM reads only the given home: sessions outside it raise the sum', () => {
    const known = new SessionHomeCusum(0.1, 2, new Set(['a', 'b', 'c']));
    const estimated = new SessionHomeCusum(0.1, 2);
    // Home sessions, then sessions in 'd' only: 'd' is home for neither at first.
    const events = [...sessions(10, 0, home), ...sessions(3, 10 * 6 * HOUR, () => 'd')];
    let k = 0;
    let e = 0;
    for (const [c, t] of events) {
      k = known.score(c, t);
      e = estimated.score(c, t);
    }
    expect(k).toBeGreaterThan(0);
    expect(e).toBeGreaterThan(0);
    // Make 'd' part of the known home: the same sessions now count as home.
    const knownD = new SessionHomeCusum(0.1, 2, new Set(['a', 'b', 'c', 'd']));
    let kd = 0;
    for (const [c, t] of events) kd = knownD.score(c, t);
    expect(kd).toBe(0);
  });
});
