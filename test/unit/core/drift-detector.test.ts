import { INITIAL_DRIFT, stepDrift } from '../../../src/core/drift-detector';
import type { DriftState } from '../../../src/core/drift-detector';
import { DEFAULT_PARAMS } from '../../../src/core/params';

const p = {
  ...DEFAULT_PARAMS.drift,
  enterThreshold: 0.5,
  exitThreshold: 0.3,
  minEvidenceEvents: 3,
  minHistoryEvents: 0,
  cooldownMs: 100,
};

function run(scores: number[], start: DriftState = INITIAL_DRIFT): { fired: number[]; state: DriftState } {
  let s = start;
  const fired: number[] = [];
  scores.forEach((x, i) => {
    const r = stepDrift(s, x, i * 10, 100, p);
    s = r.state;
    if (r.fire) fired.push(i);
  });
  return { fired, state: s };
}

describe('drift detector hysteresis', () => {
  it('needs minEvidence consecutive events at or above exit, starting above enter', () => {
    expect(run([0.6, 0.4, 0.4]).fired).toEqual([2]);
    expect(run([0.4, 0.4, 0.4, 0.4]).fired).toEqual([]); // never entered
    expect(run([0.6, 0.2, 0.6, 0.4]).fired).toEqual([]); // dropped below exit: evidence reset
  });

  it('does not flap: one migration per cooldown, re-armed only below exit', () => {
    const r = run([0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]);
    expect(r.fired).toEqual([2]);
    expect(r.state.phase).toBe('MIGRATED');
    const later = run([0.1, 0.6, 0.6, 0.6], { ...r.state, cooldownUntilTimeMs: 0 });
    expect(later.fired).toEqual([3]);
  });
});
