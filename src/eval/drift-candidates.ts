/**
 * Candidate drift signals of issue 13 D, each behind the core detector's gating (baselines.ts
 * `gated`: minimum history, evidence run with hysteresis, cooldown, rebase). They read the raw
 * category stream only (no encoder), so a sweep over train, valid and several simulator seeds
 * runs in seconds. src/tools/drift-candidates.ts compares them with the shipped detector at the
 * same stable-alert budget; none is served. Pure and deterministic; one instance per user.
 *
 * Sessions: a gap over SESSION_GAP_MS of event time starts a new one; a session counts as the
 * SET of categories it touched, so in-session repeats (about half of all consecutive events)
 * carry no extra evidence.
 */
import { SESSION_GAP_MS } from '../core/types';
import type { CategoryStreamDetector, Guards, Signal } from './baselines';
import { SplitHistory, gated, inc } from './baselines';

export type CandidateName =
  'excess-novelty' | 'session-home-loss' | 'session-home-cusum' | 'g-test' | 'change-points';

export interface Candidate {
  readonly name: CandidateName;
  /** What the swept parameter is. */
  readonly paramName: string;
  /** From most to least sensitive. */
  readonly grid: readonly number[];
  create(param: number, guards: Guards): CategoryStreamDetector;
}

/** Global category shares (e.g. the simulator's train-user popularity) for change-points. */
export type CategoryPrior = (categoryId: string) => number;

/**
 * The candidates with the structural settings chosen on the train users and simulator seeds
 * 31–36 (see the tool's report); `param` is the threshold calibrated to the stable-alert budget.
 */
export function candidates(prior: CategoryPrior): Candidate[] {
  const gate = (signal: Signal, guards: Guards, enter: number, gap: number, evidence: number) =>
    gated(signal, {
      enterThreshold: enter,
      exitThreshold: Math.max(0, enter - gap),
      minEvidenceEvents: evidence,
      minHistoryEvents: guards.minHistoryEvents,
      cooldownMs: guards.cooldownMs,
      embeddingWeight: 0,
    });
  return [
    {
      name: 'excess-novelty',
      paramName: 'excess share',
      grid: [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
      create: (p, g) => gate(new ExcessNovelty(20), g, p, g.hysteresisGap, g.minEvidenceEvents),
    },
    {
      name: 'session-home-loss',
      paramName: 'home loss',
      grid: [0.5, 0.7, 0.8, 0.9, 0.999],
      create: (p, g) => gate(new SessionHomeLoss(4, 2), g, p, 0.2, g.minEvidenceEvents),
    },
    {
      name: 'session-home-cusum',
      paramName: 'CUSUM threshold (nats)',
      grid: [1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 25, 30],
      create: (p, g) => gate(new SessionHomeCusum(0.1, 2), g, p, 0, 1),
    },
    {
      name: 'g-test',
      paramName: 'z',
      grid: [4, 6, 8, 10, 12, 15, 18, 22, 26, 30, 40],
      create: (p, g) => gate(new GTest(30), g, p, 3, g.minEvidenceEvents),
    },
    {
      name: 'change-points',
      paramName: 'posterior of a change',
      grid: [0.9, 0.99, 0.999, 0.9999],
      create: (p, g) => gate(new ChangePoints(prior, 0.01, 40, 20, 10), g, p, 0.2, g.minEvidenceEvents),
    },
  ];
}

/**
 * A signal over the last `size` events against every event before them (the reference, which
 * the window's oldest events keep joining; baselines.ts SplitHistory). 0 until the window is
 * full and the reference holds 10 events.
 */
abstract class WindowSignal implements Signal {
  private readonly h: SplitHistory;
  constructor(size: number) {
    this.h = new SplitHistory(size);
  }
  score(c: string): number {
    this.h.push(c);
    return this.h.full && this.h.olderEvents >= 10 ? this.measure(this.h) : 0;
  }
  rebase(): void {
    this.h.rebase();
  }
  protected abstract measure(h: SplitHistory): number;
}

/**
 * Share of the last `size` events whose category the reference never saw, above what the
 * reference itself predicts for "never seen" (Good–Turing: its share of once-seen categories),
 * scaled to [0, 1]. Breadth-aware: a broad user's reference predicts many new categories.
 * Weakness (kept as measured): the window's oldest events keep joining the reference, so a
 * switch to a few categories stops counting as new after one window, often before the evidence
 * run completes.
 */
export class ExcessNovelty extends WindowSignal {
  protected measure(h: SplitHistory): number {
    let unseen = 0;
    for (const [k, n] of h.recentCounts) if (!h.olderCounts.has(k)) unseen += n;
    let once = 0;
    for (const n of h.olderCounts.values()) if (n === 1) once++;
    const expected = (once + 0.5) / (h.olderEvents + 1);
    return Math.max(0, (unseen / h.window - expected) / (1 - expected));
  }
}

/** Two-sample G-test of the last `size` events against the reference: (G − df) / √(2·df). */
export class GTest extends WindowSignal {
  protected measure(h: SplitHistory): number {
    const nW = h.window;
    const nR = h.olderEvents;
    const keys = new Set([...h.recentCounts.keys(), ...h.olderCounts.keys()]);
    let g = 0;
    for (const k of keys) {
      const w = h.recentCounts.get(k) ?? 0;
      const r = h.olderCounts.get(k) ?? 0;
      if (w > 0) g += w * Math.log((w * (nW + nR)) / ((w + r) * nW));
      if (r > 0) g += r * Math.log((r * (nW + nR)) / ((w + r) * nR));
    }
    const df = Math.max(1, keys.size - 1);
    return (2 * g - df) / Math.sqrt(2 * df);
  }
}

/** Sessions as category sets; the current one is the last. */
class SessionTracker {
  private lastTimeMs = -Infinity;
  /** True when this event opened a new session. */
  add(sessions: Set<string>[], c: string, t: number): boolean {
    const opened = t - this.lastTimeMs > SESSION_GAP_MS;
    this.lastTimeMs = t;
    if (opened) sessions.push(new Set());
    (sessions[sessions.length - 1] as Set<string>).add(c);
    return opened;
  }
  reset(): void {
    this.lastTimeMs = -Infinity;
  }
}

/**
 * 1 − (share of the last `size` sessions touching the user's home) / (share of reference
 * sessions touching it), clamped to [0, 1]; home = categories in ≥ `homeMin` reference sessions
 * and in ≥ 10 % of them.
 */
export class SessionHomeLoss implements Signal {
  private recent: Set<string>[] = [];
  private reference: Set<string>[] = [];
  private sessionsWith = new Map<string, number>();
  private readonly tracker = new SessionTracker();
  constructor(
    readonly size: number,
    readonly homeMin: number,
  ) {}
  score(c: string, t: number): number {
    if (this.tracker.add(this.recent, c, t) && this.recent.length > this.size) {
      const old = this.recent.shift() as Set<string>;
      this.reference.push(old);
      for (const x of old) inc(this.sessionsWith, x, 1);
    }
    if (this.reference.length < 3 || this.recent.length < this.size) return 0;
    const floor = Math.max(this.homeMin, 0.1 * this.reference.length);
    const touchesHome = (s: Set<string>): boolean => {
      for (const x of s) if ((this.sessionsWith.get(x) ?? 0) >= floor) return true;
      return false;
    };
    const before = this.reference.filter(touchesHome).length / this.reference.length;
    if (before === 0) return 0;
    const now = this.recent.filter(touchesHome).length / this.recent.length;
    return Math.max(0, 1 - now / before);
  }
  rebase(): void {
    this.reference = this.recent;
    this.sessionsWith = new Map();
    for (const s of this.reference) for (const x of s) inc(this.sessionsWith, x, 1);
    this.recent = [];
    this.tracker.reset();
  }
}

/**
 * CUSUM over sessions of "did not touch home" (Bernoulli): b = the reference sessions' rate of
 * touching home (leave-one-out, Beta(1, 1)), the alternative b·rho. A miss adds
 * log((1 − b·rho)/(1 − b)) nats, a touch log(rho). Sessions of an open run (sum > 0) are held
 * back from the reference and join it when the sum falls back to 0. The current session counts
 * as it stands. Breadth-aware: a user who often browses away from home has a low b.
 * `knownHome` (simulation only) replaces the estimated home with the simulator's true one: an
 * upper bound on what any home-based signal can do.
 */
export class SessionHomeCusum implements Signal {
  private sessionsWith = new Map<string, number>();
  private reference: Set<string>[] = [];
  private pending: Set<string>[] = [];
  private current: Set<string> | null = null;
  private lastTimeMs = -Infinity;
  private sum = 0;
  private touchRate = 0.5;
  constructor(
    readonly rho: number,
    readonly homeMin: number,
    readonly knownHome: ReadonlySet<string> | null = null,
  ) {}
  score(c: string, t: number): number {
    if (t - this.lastTimeMs > SESSION_GAP_MS) {
      this.closeSession();
      this.current = new Set();
    }
    this.lastTimeMs = t;
    (this.current as Set<string>).add(c);
    if (this.reference.length < 3) return 0;
    return Math.max(0, this.sum + this.llr(this.current as Set<string>));
  }
  rebase(): void {
    const sessions = [...this.pending, ...(this.current ? [this.current] : [])];
    this.sessionsWith = new Map();
    this.reference = [];
    this.pending = [];
    this.current = null;
    this.lastTimeMs = -Infinity;
    this.sum = 0;
    for (const s of sessions) this.addReference(s);
  }
  private isHome(x: string, leaveOut: number): boolean {
    if (this.knownHome) return this.knownHome.has(x);
    return (this.sessionsWith.get(x) ?? 0) - leaveOut >= this.homeMin;
  }
  private llr(s: Set<string>): number {
    let touch = false;
    for (const x of s) if (this.isHome(x, 0)) touch = true;
    const b = this.touchRate;
    return touch ? Math.log(this.rho) : Math.log((1 - b * this.rho) / (1 - b));
  }
  private closeSession(): void {
    const s = this.current;
    this.current = null;
    if (s === null) return;
    if (this.reference.length < 3) {
      this.addReference(s);
      return;
    }
    this.sum = Math.max(0, this.sum + this.llr(s));
    if (this.sum > 0) {
      this.pending.push(s);
      return;
    }
    for (const p of this.pending) this.addReference(p);
    this.pending = [];
    this.addReference(s);
  }
  private addReference(s: Set<string>): void {
    this.reference.push(s);
    for (const x of s) inc(this.sessionsWith, x, 1);
    let touched = 0;
    for (const r of this.reference) {
      for (const x of r) {
        if (this.isHome(x, 1)) {
          touched++;
          break;
        }
      }
    }
    this.touchRate = (touched + 1) / (this.reference.length + 2);
  }
}

/**
 * Bayesian online change-point detection (Adams & MacKay 2007) with a breadth-aware predictive
 * per run of length r: (1 − ε)·n_r(c)/r + ε·prior(c), ε = the run's Good–Turing rate of new
 * categories. Constant hazard per event; the `keep` most probable runs survive (and the longest).
 * Score: posterior mass of a change within the last `horizon` events that leaves at least
 * `minReference` events before it.
 */
export class ChangePoints implements Signal {
  private positions = new Map<string, number[]>();
  private seq: string[] = [];
  private runs: { r: number; lp: number }[] = [{ r: 0, lp: 0 }];
  constructor(
    private readonly prior: CategoryPrior,
    readonly hazard: number,
    readonly horizon: number,
    readonly minReference: number,
    readonly keep: number,
  ) {}
  score(c: string): number {
    const q = Math.max(1e-6, this.prior(c));
    const next: { r: number; lp: number }[] = [];
    let change = -Infinity;
    for (const h of this.runs) {
      const lp = h.lp + Math.log(h.r === 0 ? q : this.predictive(c, h.r, q));
      next.push({ r: h.r + 1, lp: lp + Math.log(1 - this.hazard) });
      change = logAdd(change, lp + Math.log(this.hazard));
    }
    next.push({ r: 0, lp: change });
    let z = -Infinity;
    for (const h of next) z = logAdd(z, h.lp);
    for (const h of next) h.lp -= z;
    const longest = next.reduce((a, b) => (b.r > a.r ? b : a));
    next.sort((a, b) => b.lp - a.lp || a.r - b.r);
    this.runs = next.slice(0, this.keep);
    if (!this.runs.includes(longest)) this.runs.push(longest);
    const at = this.positions.get(c);
    if (at) at.push(this.seq.length);
    else this.positions.set(c, [this.seq.length]);
    this.seq.push(c);
    const within = Math.min(this.horizon, this.seq.length - this.minReference);
    let mass = 0;
    for (const h of this.runs) if (h.r <= within) mass += Math.exp(h.lp);
    return within < 1 ? 0 : mass;
  }
  rebase(): void {
    const best = this.runs.reduce((a, b) => (b.lp > a.lp ? b : a));
    this.runs = this.runs.filter((h) => h.r <= best.r);
    let z = -Infinity;
    for (const h of this.runs) z = logAdd(z, h.lp);
    for (const h of this.runs) h.lp -= z;
    this.seq = this.seq.slice(this.seq.length - best.r);
    this.positions = new Map();
    this.seq.forEach((x, i) => {
      const at = this.positions.get(x);
      if (at) at.push(i);
      else this.positions.set(x, [i]);
    });
  }
  private countIn(c: string, r: number): number {
    const at = this.positions.get(c);
    if (!at) return 0;
    const from = this.seq.length - r;
    let lo = 0;
    let hi = at.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((at[mid] as number) < from) lo = mid + 1;
      else hi = mid;
    }
    return at.length - lo;
  }
  private predictive(c: string, r: number, q: number): number {
    const seen = new Set<string>();
    let once = 0;
    for (let i = this.seq.length - r; i < this.seq.length; i++) {
      const x = this.seq[i] as string;
      if (seen.has(x)) continue;
      seen.add(x);
      if (this.countIn(x, r) === 1) once++;
    }
    const eps = (once + 1) / (r + 2);
    return (1 - eps) * (this.countIn(c, r) / r) + eps * q;
  }
}

function logAdd(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const m = Math.max(a, b);
  return m + Math.log(Math.exp(a - m) + Math.exp(b - m));
}
