/**
 * Drift detector with hysteresis. Pure: (state, score, event time) → (state, fire?).
 *
 *   STABLE ──score ≥ enter──▶ SUSPECT ──evidence ≥ minEvidence──▶ fire, MIGRATED (cooldown)
 *      ▲                        │ score < exit                        │ cooldown over: rebase
 *      └────────────────────────┴─────────────────────────────────────┘
 *
 * A stable user whose score wanders between exit and enter never accumulates evidence, and a
 * suspect needs minEvidenceEvents consecutive events at or above exit, so single noisy events
 * cannot fire. The caller rebases the long-term reference profile to the user's current
 * interests when it fires AND when the cooldown ends (`rebase`), so a user still in the middle of
 * the same migration is not alerted twice, while a new switch after the cooldown is measured
 * from where the user is now (user-state.ts).
 */
import type { DriftParams } from './params';

export type DriftPhase = 'STABLE' | 'SUSPECT' | 'MIGRATED';

export interface DriftState {
  readonly phase: DriftPhase;
  readonly evidenceEvents: number;
  /** Event time the current evidence run started, ms (0 = none). */
  readonly evidenceStartTimeMs: number;
  /** No migration before this event time, ms (0 = none). */
  readonly cooldownUntilTimeMs: number;
}

export const INITIAL_DRIFT: DriftState = {
  phase: 'STABLE',
  evidenceEvents: 0,
  evidenceStartTimeMs: 0,
  cooldownUntilTimeMs: 0,
};

/** score = w·embeddingDistance/2 + (1 − w)·categoryDivergence, in [0, 1]. */
export function driftScore(embeddingDistance: number, categoryDivergence: number, p: DriftParams): number {
  return p.embeddingWeight * (embeddingDistance / 2) + (1 - p.embeddingWeight) * categoryDivergence;
}

export interface DriftStep {
  readonly state: DriftState;
  readonly fire: boolean;
  /** The cooldown has just ended: the caller must reset the reference profile to the short-term one. */
  readonly rebase: boolean;
}

export function stepDrift(
  s: DriftState,
  score: number,
  eventTimeMs: number,
  historyEvents: number,
  p: DriftParams,
): DriftStep {
  const stable: DriftState = { ...INITIAL_DRIFT, cooldownUntilTimeMs: s.cooldownUntilTimeMs };
  if (s.phase === 'MIGRATED') {
    if (eventTimeMs >= s.cooldownUntilTimeMs) return { state: stable, fire: false, rebase: true };
    return { state: s, fire: false, rebase: false };
  }
  if (historyEvents < p.minHistoryEvents) return { state: stable, fire: false, rebase: false };
  let next: DriftState;
  if (s.phase === 'STABLE') {
    if (score < p.enterThreshold) return { state: s, fire: false, rebase: false };
    next = { ...s, phase: 'SUSPECT', evidenceEvents: 1, evidenceStartTimeMs: eventTimeMs };
  } else {
    if (score < p.exitThreshold) return { state: stable, fire: false, rebase: false };
    next = { ...s, evidenceEvents: s.evidenceEvents + 1 };
  }
  if (next.evidenceEvents >= p.minEvidenceEvents && eventTimeMs >= s.cooldownUntilTimeMs) {
    return {
      state: { ...next, phase: 'MIGRATED', cooldownUntilTimeMs: eventTimeMs + p.cooldownMs },
      fire: true,
      rebase: false,
    };
  }
  return { state: next, fire: false, rebase: false };
}

/** 0..1: half from how far the score is past the exit threshold, half from the evidence count. */
export function driftConfidence(score: number, evidenceEvents: number, p: DriftParams): number {
  const margin = Math.min(1, Math.max(0, (score - p.exitThreshold) / Math.max(1e-9, 1 - p.exitThreshold)));
  const evidence = Math.min(1, evidenceEvents / (2 * p.minEvidenceEvents));
  return 0.5 * margin + 0.5 * evidence;
}
