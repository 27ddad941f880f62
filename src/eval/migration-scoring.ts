/**
 * Scores migration alerts against per-user truth. Pure.
 *
 * Truth per user: `positive` (the user's interests moved at changeTimeMs / changeIndex) or not.
 * Users without truth (ambiguous on real data) are left out: alerts on them count nowhere.
 *
 * An alert on a positive user at or after the change is a true positive, once per user (the
 * first one); every other alert on a scored user is a false alarm, including repeats and alerts
 * before the change. Detection delay = the alerting event's index in the user's own sequence
 * minus the change index (events after the change).
 *
 * Delay-bounded recall counts a catch only when it comes within DELAY_BOUND of the change (48 h
 * of event time or 50 events, whichever allows more); a late alert is of little use to ad
 * bidding. Detectable recall is recall among the positive users with at least
 * DETECTABLE_MIN_EVENTS events after the change (fewer cannot pass the 12-event evidence run).
 */
import { prf, quantile } from './metrics';

export interface UserTruth {
  readonly positive: boolean;
  readonly changeTimeMs: number;
  /** Index of the first event after the change in the user's own sequence (−1 if unknown). */
  readonly changeIndex: number;
  readonly events: number;
  /** Event-time span of the user's history, ms (for false alarms per user-day). */
  readonly spanMs: number;
}

export interface Alert {
  readonly userId: string;
  readonly eventTimeMs: number;
  /** Index of the alerting event in the user's own sequence. */
  readonly eventIndex: number;
}

export const DELAY_BOUND = { ms: 48 * 3_600_000, events: 50 } as const;
export const DETECTABLE_MIN_EVENTS = 20;

export interface DetectionScore {
  /** Recall counting only catches within DELAY_BOUND of the change. */
  readonly recallWithinBound: number;
  /** Positive users with ≥ DETECTABLE_MIN_EVENTS events after the change, and recall among them. */
  readonly detectablePositives: number;
  readonly recallDetectable: number;
  readonly positives: number;
  readonly negatives: number;
  readonly alerts: number;
  readonly truePositives: number;
  readonly falseAlarms: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** Share of negative users with at least one alert. */
  readonly falseAlarmUserRate: number;
  /** Alerts (on scored users) per 1,000 of their events. */
  readonly alertsPer1kEvents: number;
  readonly falseAlarmsPerUserDay: number;
  /** Events after the change until the detecting event, for each caught positive. */
  readonly delaysEvents: number[];
  readonly delayEventsP50: number;
  readonly delayEventsP90: number;
}

export function scoreDetections(
  truth: ReadonlyMap<string, UserTruth>,
  alerts: readonly Alert[],
): DetectionScore {
  let positives = 0;
  let negatives = 0;
  let detectable = 0;
  let events = 0;
  let userDays = 0;
  for (const t of truth.values()) {
    if (t.positive) positives++;
    else negatives++;
    if (t.positive && t.changeIndex >= 0 && t.events - t.changeIndex >= DETECTABLE_MIN_EVENTS) detectable++;
    events += t.events;
    userDays += Math.max(t.spanMs, 3_600_000) / 86_400_000;
  }
  const sorted = [...alerts].sort((a, b) => a.eventTimeMs - b.eventTimeMs || a.eventIndex - b.eventIndex);
  const caught = new Set<string>();
  const falselyAlerted = new Set<string>();
  const delays: number[] = [];
  let scored = 0;
  let falseAlarms = 0;
  let inBound = 0;
  let caughtDetectable = 0;
  for (const a of sorted) {
    const t = truth.get(a.userId);
    if (!t) continue;
    scored++;
    if (t.positive && a.eventTimeMs >= t.changeTimeMs && !caught.has(a.userId)) {
      caught.add(a.userId);
      if (t.changeIndex >= 0) delays.push(Math.max(0, a.eventIndex - t.changeIndex));
      const lateByEvents = t.changeIndex >= 0 ? a.eventIndex - t.changeIndex : Infinity;
      if (a.eventTimeMs - t.changeTimeMs <= DELAY_BOUND.ms || lateByEvents <= DELAY_BOUND.events) inBound++;
      if (t.changeIndex >= 0 && t.events - t.changeIndex >= DETECTABLE_MIN_EVENTS) caughtDetectable++;
    } else {
      falseAlarms++;
      if (!t.positive) falselyAlerted.add(a.userId);
    }
  }
  const { precision, recall, f1 } = prf(caught.size, scored, positives);
  return {
    recallWithinBound: positives ? inBound / positives : 0,
    detectablePositives: detectable,
    recallDetectable: detectable ? caughtDetectable / detectable : 0,
    positives,
    negatives,
    alerts: scored,
    truePositives: caught.size,
    falseAlarms,
    precision,
    recall,
    f1,
    falseAlarmUserRate: negatives ? falselyAlerted.size / negatives : 0,
    alertsPer1kEvents: events ? (scored / events) * 1000 : 0,
    falseAlarmsPerUserDay: userDays ? falseAlarms / userDays : 0,
    delaysEvents: delays,
    delayEventsP50: quantile(delays, 0.5),
    delayEventsP90: quantile(delays, 0.9),
  };
}
