/**
 * A seeded clickstream simulator calibrated on the real Taobao sample (taobao-stats.json:
 * category popularity over the real, anonymised category ids, the event-type mix, session
 * lengths, in-session and between-session gaps, the same-category rate within a session, and how
 * much users browse outside their main categories).
 * It uses the real category space, so the trained encoder applies, and it injects ground truth:
 *   - migrating users switch, at a known time, to a set of home categories disjoint from before;
 *   - quiet users stop at a known time (churn ground truth);
 *   - the rest are stable.
 * The HARD scenario (HARD_SIM, all off by default) adds what makes a two-histogram detector's
 * life hard: stable users with temporary excursions (a session, or a whole day, in categories
 * outside their own, then back: these must not alert), gradual migrations (the new interests
 * take over over a ramp of days) and partial ones (the old interests keep a share), activity that
 * thins out before a user goes quiet, and a spread of user breadth (2 to 8 home categories,
 * more or less browsing outside them). Options at their defaults draw no extra random numbers,
 * so the default scenario is unchanged.
 * Same options → same rows, byte for byte.
 */
import type { EventKind } from '../core/types';
import type { DatasetRow } from '../io/datasets';
import stats from './taobao-stats.json';

export interface SimOptions {
  readonly seed: number;
  readonly users: number;
  readonly days: number;
  /** Epoch ms of the simulated day 0. */
  readonly startTimeMs: number;
  /** Fraction of users with an injected interest migration. */
  readonly migrationRate: number;
  /** Fraction of users who go quiet. */
  readonly quietRate: number;
  /** Multiplies the real sessions-per-day rate (1 = as in the data). */
  readonly activityScale: number;
  /** Prefix of simulated user ids. */
  readonly userPrefix: string;
  /** Stable users: chance that a session is spent outside the user's categories. */
  readonly excursionSessionRate?: number;
  /** Stable users: chance of one whole day spent outside the user's categories. */
  readonly excursionDayRate?: number;
  /** Migrations: share that ramp in over `gradualRampMs` instead of switching at once. */
  readonly gradualShare?: number;
  readonly gradualRampMs?: number;
  /** Migrations: share that keep `partialKeep` of their events in the old categories. */
  readonly partialShare?: number;
  readonly partialKeep?: number;
  /** Quiet users: gaps between sessions grow up to this factor as the quiet time nears (1 = off). */
  readonly quietSlowdown?: number;
  /** Per-user breadth: 2..8 home categories and an off-home share from ½× to 2× the real one. */
  readonly breadthSpread?: boolean;
}

/** The hard scenario's settings (on top of DEFAULT_SIM). */
export const HARD_SIM: Partial<SimOptions> = {
  excursionSessionRate: 0.05,
  excursionDayRate: 0.3,
  gradualShare: 0.5,
  gradualRampMs: 2 * 86_400_000,
  partialShare: 0.3,
  partialKeep: 0.35,
  quietSlowdown: 4,
  breadthSpread: true,
};

export const DEFAULT_SIM: SimOptions = {
  seed: 7,
  users: 2000,
  days: 1,
  startTimeMs: Date.UTC(2017, 10, 26),
  migrationRate: 0.3,
  quietRate: 0.15,
  activityScale: 1,
  userPrefix: 'sim',
};

export interface MigrationTruth {
  readonly userId: string;
  readonly changeTimeMs: number;
  /** Index (0-based, in the user's own sequence) of the first event after the change. */
  readonly changeEventIndex: number;
  readonly fromCategories: readonly string[];
  readonly toCategories: readonly string[];
}

export interface QuietTruth {
  readonly userId: string;
  /** Event time of the user's last event. */
  readonly lastEventTimeMs: number;
}

export interface SimResult {
  readonly rows: DatasetRow[];
  readonly migrations: MigrationTruth[];
  readonly quiet: QuietTruth[];
  readonly stableUsers: string[];
  /** Each user's home categories at the start (before any migration): ground truth for bounds. */
  readonly startHomes: ReadonlyMap<string, readonly string[]>;
}

/** mulberry32: small, fast, good enough for simulation, and deterministic. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fromQuantiles(q: readonly number[], u: number): number {
  const x = u * (q.length - 1);
  const i = Math.floor(x);
  const lo = q[i] as number;
  const hi = q[Math.min(q.length - 1, i + 1)] as number;
  return lo + (hi - lo) * (x - i);
}

class Weighted<T> {
  private readonly cumulative: number[] = [];
  private total = 0;
  constructor(
    private readonly items: readonly T[],
    weights: readonly number[],
  ) {
    for (const w of weights) {
      this.total += w;
      this.cumulative.push(this.total);
    }
  }
  pick(u: number): T {
    const x = u * this.total;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.cumulative[mid] as number) <= x) lo = mid + 1;
      else hi = mid;
    }
    return this.items[lo] as T;
  }
}

const categories = stats.categories.map((c) => c.id);
const popularity = new Weighted(
  categories,
  stats.categories.map((c) => c.count),
);
const kinds = Object.keys(stats.eventKindShares) as EventKind[];
const kindPicker = new Weighted(kinds, Object.values(stats.eventKindShares));

function homeCategories(
  r: () => number,
  exclude: ReadonlySet<string>,
  breadth: { min: number; span: number } = { min: 3, span: 3 },
): { ids: string[]; picker: Weighted<string> } {
  const n = breadth.min + Math.floor(r() * breadth.span);
  const ids: string[] = [];
  for (let guard = 0; ids.length < n && guard < 1000; guard++) {
    const c = popularity.pick(r());
    if (!exclude.has(c) && !ids.includes(c)) ids.push(c);
  }
  const weights = ids.map((_, i) => 1 / (i + 1));
  return { ids, picker: new Weighted(ids, weights) };
}

export function simulate(options: Partial<SimOptions> = {}): SimResult {
  const o = { ...DEFAULT_SIM, ...options };
  const r = rng(o.seed);
  const horizonMs = o.days * 86_400_000;
  const rows: DatasetRow[] = [];
  const migrations: MigrationTruth[] = [];
  const quiet: QuietTruth[] = [];
  const stableUsers: string[] = [];
  const startHomes = new Map<string, readonly string[]>();
  const sessionRate = stats.sessionsPerUserDay * o.activityScale;
  for (let u = 0; u < o.users; u++) {
    const userId = `${o.userPrefix}-${o.seed}-${u}`;
    const roll = r();
    const migrates = roll < o.migrationRate;
    const goesQuiet = !migrates && roll < o.migrationRate + o.quietRate;
    const breadth = o.breadthSpread ? { min: 2, span: 7 } : undefined;
    const offHome = stats.offHomeEventShare * (o.breadthSpread ? 0.5 + 1.5 * r() : 1);
    let home = homeCategories(r, new Set(), breadth);
    const before = home.ids;
    startHomes.set(userId, before);
    const beforePicker = home.picker;
    const changeAt = migrates ? o.startTimeMs + horizonMs * (0.35 + 0.3 * r()) : Infinity;
    const quietAt = goesQuiet ? o.startTimeMs + horizonMs * (0.5 + 0.35 * r()) : Infinity;
    // How this migration happens (hard scenario): a ramp, and/or a share kept in the old interests.
    const ramp =
      migrates && (o.gradualShare ?? 0) > 0 && r() < (o.gradualShare ?? 0) ? (o.gradualRampMs ?? 0) : 0;
    const keep =
      migrates && (o.partialShare ?? 0) > 0 && r() < (o.partialShare ?? 0) ? (o.partialKeep ?? 0) : 0;
    // Stable users' excursions: one whole day elsewhere, and single sessions elsewhere.
    const stableUser = !migrates && !goesQuiet;
    const excursionDay =
      stableUser && (o.excursionDayRate ?? 0) > 0 && r() < (o.excursionDayRate ?? 0)
        ? o.startTimeMs + Math.floor(r() * o.days) * 86_400_000
        : -1;
    const away =
      stableUser && ((o.excursionDayRate ?? 0) > 0 || (o.excursionSessionRate ?? 0) > 0)
        ? homeCategories(r, new Set(before), breadth)
        : null;
    let changed = false;
    let changeIndex = -1;
    let t = o.startTimeMs + r() * (horizonMs / Math.max(1, o.days)) * 0.5;
    let n = 0;
    let lastT = 0;
    const userRows: DatasetRow[] = [];
    while (t < o.startTimeMs + horizonMs && t < quietAt) {
      const length = Math.max(1, Math.round(fromQuantiles(stats.sessionLengthQuantiles, r())));
      let cat = '';
      const awaySession =
        away !== null &&
        ((excursionDay >= 0 && t >= excursionDay && t < excursionDay + 86_400_000) ||
          ((o.excursionSessionRate ?? 0) > 0 && r() < (o.excursionSessionRate ?? 0)));
      for (let i = 0; i < length && t < o.startTimeMs + horizonMs && t < quietAt; i++) {
        if (!changed && t >= changeAt) {
          changed = true;
          changeIndex = n;
          home = homeCategories(r, new Set(before), breadth);
          cat = '';
        }
        const explore = r() < offHome;
        // After a change: during a ramp the new interests take over gradually; a partial
        // migration keeps a share in the old ones.
        const oldShare = !changed ? 0 : Math.max(keep, ramp > 0 ? 1 - Math.min(1, (t - changeAt) / ramp) : 0);
        const picker =
          awaySession && away
            ? away.picker
            : changed && oldShare > 0 && r() < oldShare
              ? beforePicker
              : home.picker;
        if (cat === '' || r() >= stats.sameCategoryInSessionRate)
          cat = explore ? popularity.pick(r()) : picker.pick(r());
        const kind = kindPicker.pick(r());
        const ts = Math.floor(t);
        userRows.push({
          userId,
          itemId: `item-${cat}-${Math.floor(r() * 50)}`,
          categoryId: cat,
          kind,
          eventTimeMs: ts,
          sessionId: `${userId}-s${Math.floor(t / 1000)}`,
          priceMinorUnits: null,
        });
        lastT = ts;
        n++;
        t += Math.max(1000, fromQuantiles(stats.inSessionGapMsQuantiles, r()));
      }
      // Between sessions: the real gap distribution, compressed when activity is scaled up, and
      // (hard scenario) stretched as a user who is about to go quiet loses interest.
      const slow =
        goesQuiet && (o.quietSlowdown ?? 1) > 1
          ? 1 +
            ((o.quietSlowdown ?? 1) - 1) *
              Math.min(
                1,
                Math.max(
                  0,
                  (t - (quietAt - 0.4 * (quietAt - o.startTimeMs))) / (0.4 * (quietAt - o.startTimeMs)),
                ),
              )
          : 1;
      t +=
        (slow * fromQuantiles(stats.betweenSessionGapMsQuantiles, r())) /
        Math.max(0.1, sessionRate / stats.sessionsPerUserDay);
    }
    rows.push(...userRows);
    if (migrates && changed) {
      migrations.push({
        userId,
        changeTimeMs: Math.floor(changeAt),
        changeEventIndex: changeIndex,
        fromCategories: before,
        toCategories: home.ids,
      });
    } else if (goesQuiet && n > 0) {
      quiet.push({ userId, lastEventTimeMs: lastT });
    } else if (!migrates && !goesQuiet) {
      stableUsers.push(userId);
    }
  }
  rows.sort(
    (a, b) => a.eventTimeMs - b.eventTimeMs || (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0),
  );
  return { rows, migrations, quiet, stableUsers, startHomes };
}
