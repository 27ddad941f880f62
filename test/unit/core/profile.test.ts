import { interestView } from '../../../src/core/interest-view';
import { DEFAULT_PARAMS } from '../../../src/core/params';
import { maybeProfile } from '../../../src/core/profile';
import type { InterestProfile } from '../../../src/core/types';
import type { ModelContext, UserState } from '../../../src/core/user-state';
import { applyEvent } from '../../../src/core/user-state';
import { ev, MIN, T0 } from '../../support/test-driver';

const MODEL: ModelContext = {
  modelVersion: 'm1',
  segmentCentroids: [],
  segmentLabels: [],
  inactivityHorizonMs: 86_400_000,
};

function run(n: number, start = T0): UserState {
  let s: UserState | null = null;
  for (let i = 0; i < n; i++) {
    const enc = {
      h: new Float32Array(2),
      embedding: new Float32Array([Math.cos(i), Math.sin(i)]),
      inactivityLogit: -2,
    };
    s = applyEvent(
      s,
      ev('u1', `c${i % 3}`, start + i * MIN, 'view', `p${i}`),
      enc,
      DEFAULT_PARAMS,
      MODEL,
    ).state;
  }
  return s as UserState;
}

describe('interest profile', () => {
  it('carries the lookup view: short and long term, segment, drift and churn', () => {
    const s = run(30);
    const step = maybeProfile(s, DEFAULT_PARAMS, MODEL);
    const p = step?.outputs[0]?.value as InterestProfile;
    const view = interestView(s, MODEL, DEFAULT_PARAMS.topCategories);
    expect(p.shortTermCategories).toEqual(view.shortTerm);
    expect(p.topCategories).toEqual(view.longTerm);
    expect(p.drift).toEqual({ phase: view.drift.phase, score: s.driftScore, lastMigration: null });
    expect(p.churn).toEqual(view.churn);
    expect(p.embedding).toHaveLength(2);
    expect(step?.state.profileEmittedAtMs).toBe(s.lastEventTimeMs);
  });

  it('names no segment for a state of another model version (its embedding is in another space)', () => {
    const s = run(30);
    const model: ModelContext = {
      ...MODEL,
      segmentCentroids: [new Float32Array([1, 0]), new Float32Array([0, 1])],
      segmentLabels: ['first', 'second'],
    };
    expect(interestView(s, model, 5).segment.segmentId).toBeGreaterThanOrEqual(0);
    const upgraded = { ...model, modelVersion: 'm2' };
    expect(interestView(s, upgraded, 5).segment).toEqual({ segmentId: -1, label: 'unknown' });
    expect(interestView(s, upgraded, 5).modelVersion).toBe('m1');
  });

  it('is rate-limited per user by profileMinIntervalMs of event time', () => {
    const s = { ...run(5), profileEmittedAtMs: T0 + 4 * MIN };
    expect(maybeProfile(s, DEFAULT_PARAMS, MODEL)).toBeNull();
    expect(maybeProfile(s, { ...DEFAULT_PARAMS, profileMinIntervalMs: 0 }, MODEL)).not.toBeNull();
  });
});
