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

  it('does not flap: one migration per cooldown; at its end it asks for a rebase and re-arms', () => {
    let st: DriftState = INITIAL_DRIFT;
    const fired: number[] = [];
    const rebased: number[] = [];
    for (let i = 0; i < 16; i++) {
      const r = stepDrift(st, 0.6, i * 10, 100, p);
      st = r.state;
      if (r.fire) fired.push(i);
      if (r.rebase) rebased.push(i);
    }
    // Fires at t=20, cooldown until t=120 (i=12): rebase there, then 3 events of evidence again.
    expect(fired).toEqual([2, 15]);
    expect(rebased).toEqual([12]);
  });
});
