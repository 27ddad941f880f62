/**
 * Churn risk from the model's inactivity head and idle time. Pure.
 *
 * p = sigmoid(inactivity logit) is the model's probability, right after the user's last event,
 * that no event follows within the horizon. With idle time d (event time) the risk grows as
 *     risk(d) = 1 − (1 − p) · exp(−d / idleScale)
 * so it starts at p and tends to 1. Level k (LOW, MEDIUM, HIGH) is reached when risk ≥ its
 * threshold; the idle time at which that happens has a closed form, which is what the event-time
 * timers are scheduled at (nextLevelDueMs).
 */
import type { ChurnParams } from './params';
import type { ChurnLevelName } from './types';
import { CHURN_LEVELS } from './types';

export function riskAt(p: number, idleMs: number, params: ChurnParams): number {
  return 1 - (1 - p) * Math.exp(-Math.max(0, idleMs) / params.idleScaleMs);
}

/** 0 = NONE … 3 = HIGH. */
export function levelOf(risk: number, params: ChurnParams): number {
  let level = 0;
  params.levelThresholds.forEach((t, i) => {
    if (risk >= t) level = i + 1;
  });
  return level;
}

export function levelName(level: number): ChurnLevelName {
  return CHURN_LEVELS[Math.max(0, Math.min(3, level))] as ChurnLevelName;
}

/**
 * Event time at which the risk reaches the level above `currentLevel`, or 0 if there is none
 * (already HIGH). Never earlier than lastEventTimeMs + 1.
 */
export function nextLevelDueMs(
  p: number,
  lastEventTimeMs: number,
  currentLevel: number,
  params: ChurnParams,
): number {
  if (currentLevel >= 3) return 0;
  const target = params.levelThresholds[currentLevel] as number;
  if (p >= target) return lastEventTimeMs + 1;
  const idle = -params.idleScaleMs * Math.log((1 - target) / (1 - p));
  return lastEventTimeMs + Math.max(1, Math.ceil(idle));
}
