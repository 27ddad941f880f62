import type { LifeSample } from '../../system/lib/soak-lives';
import { processLives } from '../../system/lib/soak-lives';

/** One sample a minute for 30 minutes; restarts every 5 minutes (at 300 s, 600 s, …). */
const restarts = [300, 600, 900, 1200, 1500];
const series = (f: (atS: number, life: number) => number): LifeSample[] =>
  Array.from({ length: 30 }, (_, i) => {
    const atS = (i + 1) * 60;
    const life = restarts.filter((r) => r < atS).length;
    return { atS, value: restarts.includes(atS) ? Number.NaN : f(atS, life) };
  });

describe('processLives', () => {
  it('sees no growth inside lives when each life holds a level, however the levels differ', () => {
    const levels = [560, 690, 640, 750, 600, 720];
    const s = processLives(
      new Map([['a', series((_, life) => levels[life] as number)]]),
      new Map([['a', restarts]]),
      30,
    );
    expect(s.lives.map((l) => l.level)).toEqual(levels);
    expect(s.lives.every((l) => l.change === 0)).toBe(true);
    expect(s.withinSlopePerMin).toBeCloseTo(0, 9);
    expect(s.levelRange).toEqual([560, 750]);
  });

  it('finds a leak that grows inside every life and resets at each restart', () => {
    const s = processLives(
      new Map([['a', series((atS, life) => 600 + 3 * ((atS - (restarts[life - 1] ?? 0)) / 60))]]),
      new Map([['a', restarts]]),
      30,
    );
    expect(s.withinSlopePerMin).toBeCloseTo(3, 9);
    expect(s.lives.every((l) => l.change > 0)).toBe(true);
  });

  it('leaves out samples taken while a restarted process settles, and those it did not answer', () => {
    const s = processLives(
      new Map([
        [
          'a',
          [
            { atS: 60, value: 500 },
            { atS: 120, value: 500 },
            { atS: 130, value: 900 }, // 10 s after the restart at 120 s: still restoring
            { atS: 180, value: 650 },
            { atS: 240, value: Number.NaN },
            { atS: 300, value: 650 },
          ],
        ],
      ]),
      new Map([['a', [120]]]),
      30,
    );
    expect(s.lives).toEqual([
      { instance: 'a', fromS: 0, samples: 1, level: 500, change: 0 },
      { instance: 'a', fromS: 120, samples: 2, level: 650, change: 0 },
    ]);
  });
});
