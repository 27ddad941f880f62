/** Churn scorer state kept per user (see churn-scorer.ts for the model). */
export interface ChurnState {
  /** 0 none, 1 low, 2 medium, 3 high. */
  readonly level: number;
  /** Model probability of no event within the horizon, after the last event. */
  readonly inactivityProbability: number;
  /**
   * Event time of the idle re-score due after the state's last change, ms (0 = none). A re-score
   * that raises no level moves the processor's timer, not this (resumedChurnTimerMs).
   */
  readonly nextTimerTimeMs: number;
  /** Decayed recent event rate per day, anchored at the user's last event time. */
  readonly recentRatePerDay: number;
  /** Decayed long-run event rate per day, anchored at the user's last event time. */
  readonly baselineRatePerDay: number;
  /** alertId of the user's open alert (raised, not yet resolved); null when none. */
  readonly openAlertId: string | null;
}

export const INITIAL_CHURN: ChurnState = {
  level: 0,
  inactivityProbability: 0,
  nextTimerTimeMs: 0,
  recentRatePerDay: 0,
  baselineRatePerDay: 0,
  openAlertId: null,
};
