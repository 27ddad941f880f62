import type { Fault } from '../../system/lib/nemesis-schedule';
import { chaosSchedule, isInfraFault, overlappingPairs } from '../../system/lib/nemesis-schedule';

const TWENTY_MIN = 20 * 60_000;
const opts = (seed: number, durationMs = TWENTY_MIN) => ({ seed, durationMs, sessionTimeoutMs: 10_000 });

describe('chaosSchedule', () => {
  it('is a function of the seed: the same seed replays the same schedule, another seed differs', () => {
    expect(chaosSchedule(opts(7))).toEqual(chaosSchedule(opts(7)));
    expect(chaosSchedule(opts(8))).not.toEqual(chaosSchedule(opts(7)));
  });

  it('keeps faults inside the window after warm-up and before the quiet tail, in start order', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const s = chaosSchedule(opts(seed));
      expect(s.length).toBeGreaterThan(20);
      for (const f of s) {
        expect(f.atMs).toBeGreaterThanOrEqual(30_000);
        expect(f.atMs).toBeLessThan(TWENTY_MIN - 30_000);
      }
      expect(s.map((f) => f.atMs)).toEqual([...s.map((f) => f.atMs)].sort((a, b) => a - b));
      expect(s.map((f) => f.id)).toEqual(s.map((_, i) => i + 1));
    }
  });

  it('overlaps faults and covers every kind over five seeds', () => {
    const all: Fault[] = [1, 2, 3, 4, 5].flatMap((seed) => chaosSchedule(opts(seed)));
    const kinds = new Set(all.map((f) => f.kind));
    for (const k of [
      'kill',
      'kill-two',
      'zombie',
      'scale',
      'kill-while-restoring',
      'broker-stop',
      'broker-pause',
      'registry-outage',
    ]) {
      expect(kinds).toContain(k);
    }
    for (const seed of [1, 2, 3, 4, 5])
      expect(overlappingPairs(chaosSchedule(opts(seed)))).toBeGreaterThan(3);
  });

  it('runs infrastructure faults one at a time, zombies past the session timeout, scales within 1..4', () => {
    for (const seed of [1, 2, 3]) {
      const s = chaosSchedule(opts(seed));
      const infra = s.filter((f) => isInfraFault(f.kind));
      for (let i = 1; i < infra.length; i++) {
        const prev = infra[i - 1] as Fault;
        expect((infra[i] as Fault).atMs).toBeGreaterThanOrEqual(prev.atMs + prev.holdMs);
      }
      for (const f of s.filter((x) => x.kind === 'zombie')) expect(f.holdMs).toBeGreaterThan(10_000);
      for (const f of s.filter((x) => x.kind === 'scale')) {
        expect(f.scaleTo).toBeGreaterThanOrEqual(1);
        expect(f.scaleTo).toBeLessThanOrEqual(4);
      }
    }
  });

  it('a short run still gets faults of both lanes', () => {
    const s = chaosSchedule(opts(3, 5 * 60_000));
    expect(s.some((f) => isInfraFault(f.kind))).toBe(true);
    expect(s.some((f) => !isInfraFault(f.kind))).toBe(true);
  });
});

describe('overlappingPairs', () => {
  it('counts pairs whose active intervals intersect', () => {
    const f = (id: number, atMs: number, holdMs: number): Fault => ({
      id,
      kind: 'kill',
      atMs,
      holdMs,
      pick: 0,
    });
    expect(overlappingPairs([f(1, 0, 10_000), f(2, 5_000, 1_000), f(3, 20_000, 1_000)])).toBe(1);
    expect(overlappingPairs([f(1, 0, 1_000), f(2, 10_000, 1_000)])).toBe(0);
  });
});
