/**
 * A seeded clickstream simulator calibrated on the real Taobao sample (taobao-stats.json:
 * category popularity over the real, anonymised category ids, the event-type mix, session
 * lengths, in-session and between-session gaps, the same-category rate within a session, and how
 * much users browse outside their main categories).
 * It uses the real category space, so the trained encoder applies, and it injects ground truth:
 *   - migrating users switch, at a known time, to a set of home categories disjoint from before;
 *   - quiet users stop at a known time (churn ground truth);
 *   - the rest are stable.
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
}

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
): { ids: string[]; picker: Weighted<string> } {
  const n = 3 + Math.floor(r() * 3);
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
  const sessionRate = stats.sessionsPerUserDay * o.activityScale;
  for (let u = 0; u < o.users; u++) {
    const userId = `${o.userPrefix}-${o.seed}-${u}`;
    const roll = r();
    const migrates = roll < o.migrationRate;
    const goesQuiet = !migrates && roll < o.migrationRate + o.quietRate;
    let home = homeCategories(r, new Set());
    const before = home.ids;
    const changeAt = migrates ? o.startTimeMs + horizonMs * (0.35 + 0.3 * r()) : Infinity;
    const quietAt = goesQuiet ? o.startTimeMs + horizonMs * (0.5 + 0.35 * r()) : Infinity;
    let changed = false;
    let changeIndex = -1;
    let t = o.startTimeMs + r() * (horizonMs / Math.max(1, o.days)) * 0.5;
    let n = 0;
    let lastT = 0;
    const userRows: DatasetRow[] = [];
    while (t < o.startTimeMs + horizonMs && t < quietAt) {
      const length = Math.max(1, Math.round(fromQuantiles(stats.sessionLengthQuantiles, r())));
      let cat = '';
      for (let i = 0; i < length && t < o.startTimeMs + horizonMs && t < quietAt; i++) {
        if (!changed && t >= changeAt) {
          changed = true;
          changeIndex = n;
          home = homeCategories(r, new Set(before));
          cat = '';
        }
        const explore = r() < stats.offHomeEventShare;
        if (cat === '' || r() >= stats.sameCategoryInSessionRate)
          cat = explore ? popularity.pick(r()) : home.picker.pick(r());
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
      // Between sessions: the real gap distribution, compressed when activity is scaled up.
      t +=
        fromQuantiles(stats.betweenSessionGapMsQuantiles, r()) /
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
  return { rows, migrations, quiet, stableUsers };
}
