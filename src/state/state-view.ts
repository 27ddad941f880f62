/**
 * Read access to the committed user states of one partition, as the partition topology needs it:
 * a state by user id (decoded on demand) and a scan of the two header fields restore rebuilds
 * timers from.
 */
import type { UserState } from '../core/user-state';

/** The fields restore needs of every state, epoch ms (0 = none). */
export interface StateTimes {
  readonly lastEventTimeMs: number;
  readonly nextTimerTimeMs: number;
}

export interface StateView {
  /** May decode on every call: the topology asks once per user and batch. */
  get(userId: string): UserState | undefined;
  /** Every user's last event time and next timer, without decoding whole states. */
  scan(visit: (userId: string, times: StateTimes) => void): void;
}

/** A view over states held as objects (offline evaluation, tests). */
export function objectStateView(states: ReadonlyMap<string, UserState>): StateView {
  return {
    get: (u) => states.get(u),
    scan: (visit) => {
      for (const [u, s] of states) {
        visit(u, { lastEventTimeMs: s.lastEventTimeMs, nextTimerTimeMs: s.churn.nextTimerTimeMs });
      }
    },
  };
}
