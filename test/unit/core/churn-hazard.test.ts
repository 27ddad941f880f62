import { readFileSync } from 'node:fs';
import type { ChurnHazardWeights } from '../../../src/core/churn-hazard';
import {
  HAZARD_FEATURES,
  RESCORE_IDLE_HOURS,
  checkHazardWeights,
  hazardFeatures,
  hazardProbability,
  nextRescoreMs,
} from '../../../src/core/churn-hazard';
import { DEFAULT_PARAMS } from '../../../src/core/params';
import type { CoreParams } from '../../../src/core/params';
import type { ClickEvent, ChurnRisk } from '../../../src/core/types';
import type { EventEncoding, ModelContext, UserState } from '../../../src/core/user-state';
import { applyEvent, churnRisk, scoreIdle } from '../../../src/core/user-state';

const H = 3_600_000;
const T0 = 1_700_000_000_000;
const MODEL: ModelContext = {
  modelVersion: 'm1',
  segmentCentroids: [],
  segmentLabels: [],
  inactivityHorizonMs: 24 * H,
};
const ENC: EventEncoding = {
  h: new Float32Array([0, 0]),
  embedding: new Float32Array([1, 0]),
  inactivityLogit: 0,
};

const COMMITTED = JSON.parse(
  readFileSync('onnx/artifacts/churn-hazard.json', 'utf8'),
) as ChurnHazardWeights & {
  golden: { features: number[][]; probabilities: number[] };
};

/** A hazard whose logit is `w` × standardised idle hours (log1p) − 1. */
function idleHazard(w = 3): ChurnHazardWeights {
  return {
    version: 'test',
    features: [...HAZARD_FEATURES],
    horizonMs: 24 * H,
    recentRateHalfLifeMs: DEFAULT_PARAMS.recentRateHalfLifeMs,
    baselineRateHalfLifeMs: DEFAULT_PARAMS.baselineRateHalfLifeMs,
    mean: HAZARD_FEATURES.map(() => 0),
    scale: HAZARD_FEATURES.map(() => 1),
    coef: HAZARD_FEATURES.map((f) => (f === 'log1p_idle_hours' ? w : 0)),
    intercept: -1 - w * Math.log1p(0),
  };
}

function event(i: number, atMs: number): ClickEvent {
  return {
    eventId: `e${i}`,
    userId: 'u1',
    itemId: `i${i}`,
    categoryId: 'c1',
    kind: 'view',
    eventTimeMs: atMs,
  };
}

function replay(times: number[], params: CoreParams): { state: UserState; outputs: ChurnRisk[] } {
  let s: UserState | null = null;
  const outputs: ChurnRisk[] = [];
  times.forEach((t, i) => {
    const r = applyEvent(s, event(i, t), ENC, params, MODEL);
    s = r.state;
    for (const o of r.outputs) if (o.kind === 'churn') outputs.push(o.value);
  });
  return { state: s as unknown as UserState, outputs };
}

describe('hazard features', () => {
  // Sessions at hours 0, 10 (two events) and 40: session gaps of 10 h and 29.5 h.
  const times = [0, 10 * H, 10 * H + 60_000 * 30 - 1, 40 * H].map((t) => T0 + t);
  const params = { ...DEFAULT_PARAMS, churn: { ...DEFAULT_PARAMS.churn, hazard: idleHazard() } };
  const { state } = replay(times, params);

  it('reads idle time, counts and the window’s session gaps at the scoring time', () => {
    const f = hazardFeatures(state, T0 + 45 * H, idleHazard());
    const at = (name: string): number =>
      f[HAZARD_FEATURES.indexOf(name as (typeof HAZARD_FEATURES)[number])] as number;
    expect(f).toHaveLength(HAZARD_FEATURES.length);
    expect(at('log1p_idle_hours')).toBeCloseTo(Math.log1p(5), 12);
    expect(at('log1p_event_count')).toBeCloseTo(Math.log1p(4), 12);
    expect(at('days_since_first_event')).toBeCloseTo(45 / 24, 12);
    expect(at('events_per_day')).toBeCloseTo(4 / (45 / 24 + 1), 12);
    // Idle 5 h: both session gaps (10 h, ~29.5 h) are longer; the second also lasted 5 + 24 h.
    expect(at('log1p_window_gaps_longer_than_idle')).toBeCloseTo(Math.log1p(2), 12);
    expect(at('window_gap_survival')).toBeCloseTo((1 + 0.5) / 3, 12);
    expect(at('window_sessions_per_day')).toBeCloseTo(3 / (45 / 24 + 1), 12);
    expect(at('encoder_inactivity_logit')).toBeCloseTo(0, 9);
    // Idle 12 h: only the 29.5 h gap is longer, and it did not last 12 + 24 h.
    const g = hazardFeatures(state, T0 + 52 * H, idleHazard());
    expect(g[HAZARD_FEATURES.indexOf('log1p_window_gaps_longer_than_idle')]).toBeCloseTo(Math.log1p(1), 12);
  });

  it('gives the probability of the logistic model', () => {
    const w = idleHazard(2);
    const f = hazardFeatures(state, T0 + 50 * H, w);
    expect(hazardProbability(w, f)).toBeCloseTo(1 / (1 + Math.exp(-(-1 + 2 * Math.log1p(10)))), 12);
  });
});

describe('churn with a hazard model', () => {
  const hazard = idleHazard();
  const params: CoreParams = { ...DEFAULT_PARAMS, churn: { ...DEFAULT_PARAMS.churn, hazard } };

  it('re-scores an idle user on the ladder of idle times and raises ever higher levels up to HIGH', () => {
    const { state } = replay([T0], params);
    expect(state.churn.nextTimerTimeMs).toBe(T0 + RESCORE_IDLE_HOURS[0]! * H);
    let s = state;
    const raised: string[] = [];
    while (s.churn.nextTimerTimeMs > 0) {
      const at = s.churn.nextTimerTimeMs;
      const r = scoreIdle(s, at, 'EVENT_TIME_TIMER', params, MODEL);
      for (const o of r.outputs) {
        const v = o.value as ChurnRisk;
        raised.push(v.level);
        expect(v.riskScore).toBeCloseTo(churnRisk(s, at, params), 12);
        expect(v.riskScore).toBeGreaterThanOrEqual(params.churn.levelThresholds[0]);
      }
      expect(r.state.churn.nextTimerTimeMs === 0 || r.state.churn.nextTimerTimeMs > at).toBe(true);
      s = r.state;
    }
    expect(raised[0]).toBe('LOW');
    expect(raised[raised.length - 1]).toBe('HIGH');
    expect(new Set(raised).size).toBe(raised.length);
  });

  it('resolves the open alert when the user comes back', () => {
    const { state } = replay([T0], params);
    const idle = scoreIdle(state, T0 + 48 * H, 'EVENT_TIME_TIMER', params, MODEL).state;
    expect(idle.churn.openAlertId).not.toBeNull();
    const back = applyEvent(idle, event(9, T0 + 49 * H), ENC, params, MODEL);
    const resolved = back.outputs.map((o) => o.value as ChurnRisk).find((v) => v.status === 'RESOLVED');
    expect(resolved?.alertId).toBe(idle.churn.openAlertId);
    expect(back.state.churn.openAlertId).toBeNull();
  });

  it('stops re-scoring past the last rung', () => {
    expect(nextRescoreMs(T0, T0 + RESCORE_IDLE_HOURS[RESCORE_IDLE_HOURS.length - 1]! * H)).toBe(0);
    expect(nextRescoreMs(T0, T0 + 5 * H)).toBe(T0 + 6 * H);
  });
});

describe('the committed churn hazard', () => {
  it('fits this code’s features and the core’s rate half-lives', () => {
    expect(checkHazardWeights(COMMITTED)).toEqual([]);
    expect(COMMITTED.recentRateHalfLifeMs).toBe(DEFAULT_PARAMS.recentRateHalfLifeMs);
    expect(COMMITTED.baselineRateHalfLifeMs).toBe(DEFAULT_PARAMS.baselineRateHalfLifeMs);
  });

  it('gives the trainer’s probabilities on its golden feature rows (onnx/train_churn_hazard.py)', () => {
    expect(COMMITTED.golden.features.length).toBeGreaterThanOrEqual(8);
    COMMITTED.golden.features.forEach((row, i) =>
      expect(hazardProbability(COMMITTED, Float64Array.from(row))).toBeCloseTo(
        COMMITTED.golden.probabilities[i]!,
        12,
      ),
    );
  });

  it('flags a file that does not fit', () => {
    expect(checkHazardWeights({ ...COMMITTED, features: ['x'], coef: [1], horizonMs: 0 })).toHaveLength(3);
    expect(checkHazardWeights({ ...COMMITTED, lower: [0] })).toEqual([
      'lower and upper need 11 entries each',
    ]);
    const upside = { ...COMMITTED, lower: COMMITTED.upper, upper: COMMITTED.lower };
    expect(checkHazardWeights(upside)).toEqual(['lower must be finite and ≤ upper, entry by entry']);
  });

  it('still reads weights written before the ranges existed, without clamping', () => {
    const { lower: _l, upper: _u, ...unbounded } = COMMITTED;
    const baseline = COMMITTED.baseline && { ...COMMITTED.baseline, lower: undefined, upper: undefined };
    const older = { ...unbounded, baseline };
    expect(checkHazardWeights(older)).toEqual([]);
    const far = COMMITTED.golden.features[0]!.map((x, i) => x + 100 * (COMMITTED.scale[i] ?? 1));
    expect(hazardProbability(older, far)).not.toBeCloseTo(hazardProbability(COMMITTED, far), 6);
  });

  it('scores a user with months of history as one at the longest history it was trained on', () => {
    // A daily shopper (3 events at 20:00 for the last 9 days), 30 h idle, with 7.75 days of
    // history (the longest among the train checkpoints), 30 and 365. Without the clamp, the
    // linear model's days_since_first_event term made the longer histories P = 0.007 and ≈ 0.
    const D = 24 * H;
    const now = T0 + 400 * D;
    const times: number[] = [];
    for (let d = 10; d >= 2; d--) for (let k = 0; k < 3; k++) times.push(now - d * D + 20 * H + k * 60_000);
    const last = times[times.length - 1]!;
    const risk = (historyDays: number): number => {
      const s = {
        eventCount: 3 * Math.max(9, historyDays),
        firstEventTimeMs: last + 30 * H - historyDays * D,
        lastEventTimeMs: last,
        window: { times: times.slice(-32) },
        churn: { recentRatePerDay: 3, baselineRatePerDay: 3, inactivityProbability: 0.05 },
      };
      return hazardProbability(COMMITTED, hazardFeatures(s, last + 30 * H, COMMITTED));
    };
    const upper = COMMITTED.upper ?? [];
    expect(upper[HAZARD_FEATURES.indexOf('days_since_first_event')]).toBe(7.75);
    // Longer histories differ from 7.75 days only in the event count, which is clamped too.
    for (const days of [30, 365]) {
      expect(risk(days)).toBeGreaterThan(0.05);
      expect(Math.abs(risk(days) - risk(7.75))).toBeLessThan(0.05);
    }
    const unclamped = { ...COMMITTED, lower: undefined, upper: undefined };
    const s365 = {
      eventCount: 3 * 365,
      firstEventTimeMs: last + 30 * H - 365 * D,
      lastEventTimeMs: last,
      window: { times: times.slice(-32) },
      churn: { recentRatePerDay: 3, baselineRatePerDay: 3, inactivityProbability: 0.05 },
    };
    expect(hazardProbability(unclamped, hazardFeatures(s365, last + 30 * H, COMMITTED))).toBeLessThan(1e-6);
  });
});
