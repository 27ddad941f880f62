/**
 * Baseline interest-shift detectors on a user's raw category stream, without the encoder. They
 * exist to be compared with the core's drift detector in the offline evaluation. Pure and
 * deterministic; one instance per user.
 *
 * Every baseline gets the core detector's whole gating (core/drift-detector.ts, the same
 * function): no alert before `minHistoryEvents` events, `minEvidenceEvents` consecutive events
 * of evidence with hysteresis (enter/exit thresholds), a cooldown after an alert, and a rebase of
 * the baseline's reference (its statistics restart from the user's current interests) when it
 * fires and again when the cooldown ends. So the comparison is about the signal, not the
 * plumbing.
 */
import { stepDrift } from '../core/drift-detector';
import type { DriftParams } from '../core/params';
import { INITIAL_DRIFT } from '../core/drift-detector';
import type { DriftState } from '../core/drift-detector';
import { jsDivergence } from './metrics';

export interface CategoryStreamDetector {
  /** Feeds the user's next event; true when the detector alerts on it. */
  observe(categoryId: string, eventTimeMs: number): boolean;
}

export type BaselineName = 'top-category-changed' | 'js-divergence' | 'page-hinkley' | 'adwin';

export const BASELINES: readonly BaselineName[] = [
  'top-category-changed',
  'js-divergence',
  'page-hinkley',
  'adwin',
];

/** The core detector's gating, applied to every baseline (CoreParams.drift). */
export interface Guards {
  readonly minHistoryEvents: number;
  readonly cooldownMs: number;
  /** Consecutive events of evidence before an alert (1 = a single event fires). */
  readonly minEvidenceEvents: number;
  /** enter − exit for baselines with a continuous score (js-divergence). */
  readonly hysteresisGap: number;
}

/** The gating the core detector runs with, for the baselines: the core's drift parameters. */
export function guardsOf(drift: DriftParams): Guards {
  return {
    minHistoryEvents: drift.minHistoryEvents,
    cooldownMs: drift.cooldownMs,
    minEvidenceEvents: drift.minEvidenceEvents,
    hysteresisGap: drift.enterThreshold - drift.exitThreshold,
  };
}

/**
 * Each baseline's tuning parameter, swept in the evaluation, in the order from most to least
 * sensitive: top-category-changed = recent-window length in events (shorter fires more often);
 * js-divergence = enter threshold in bits; page-hinkley = λ; adwin = δ (confidence).
 */
export const BASELINE_GRIDS: Readonly<Record<BaselineName, readonly number[]>> = {
  'top-category-changed': [5, 10, 20, 40, 60, 100, 150, 200, 300],
  'js-divergence': [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 1],
  'page-hinkley': [1, 2, 5, 10, 20, 30, 50, 80],
  adwin: [0.5, 0.1, 0.01, 1e-3, 1e-5, 1e-8],
};

export function createBaseline(name: BaselineName, param: number, guards: Guards): CategoryStreamDetector {
  const gate = (signal: Signal, enter: number, exit: number): CategoryStreamDetector =>
    new Gated(signal, {
      enterThreshold: enter,
      exitThreshold: exit,
      minEvidenceEvents: guards.minEvidenceEvents,
      minHistoryEvents: guards.minHistoryEvents,
      cooldownMs: guards.cooldownMs,
      embeddingWeight: 0,
    });
  switch (name) {
    case 'top-category-changed':
      return gate(new TopCategoryChanged(param), 0.5, 0.5);
    case 'js-divergence':
      return gate(new JsScore(20), param, Math.max(0, param - guards.hysteresisGap));
    case 'page-hinkley':
      return gate(new PageHinkley(param), 0.5, 0.5);
    case 'adwin':
      return gate(new Adwin(param), 0.5, 0.5);
  }
}

/**
 * A raw signal: sees every event and scores it (a yes/no signal scores 1 or 0); the gate
 * decides. `rebase` restarts its reference from the user's current interests.
 */
export interface Signal {
  score(categoryId: string, eventTimeMs: number): number;
  rebase(): void;
}

/** `signal` behind the core detector's gating (stepDrift with `params`). */
export function gated(signal: Signal, params: DriftParams): CategoryStreamDetector {
  return new Gated(signal, params);
}

class Gated implements CategoryStreamDetector {
  private events = 0;
  private state: DriftState = INITIAL_DRIFT;
  constructor(
    private readonly signal: Signal,
    private readonly params: DriftParams,
  ) {}
  observe(categoryId: string, eventTimeMs: number): boolean {
    this.events++;
    const step = stepDrift(
      this.state,
      this.signal.score(categoryId, eventTimeMs),
      eventTimeMs,
      this.events,
      this.params,
    );
    this.state = step.state;
    if (step.fire || step.rebase) this.signal.rebase();
    return step.fire;
  }
}

/** Category counts of everything before the recent window, and of the recent window. */
export class SplitHistory {
  private readonly recent: string[] = [];
  readonly recentCounts = new Map<string, number>();
  readonly olderCounts = new Map<string, number>();
  /** Events in olderCounts. */
  olderEvents = 0;
  constructor(readonly window: number) {}
  push(c: string): void {
    this.recent.push(c);
    inc(this.recentCounts, c, 1);
    if (this.recent.length > this.window) {
      const old = this.recent.shift() as string;
      inc(this.recentCounts, old, -1);
      inc(this.olderCounts, old, 1);
      this.olderEvents++;
    }
  }
  get full(): boolean {
    return this.recent.length === this.window && this.olderCounts.size > 0;
  }
  /** The recent window becomes the reference; a new window starts empty. */
  rebase(): void {
    this.olderCounts.clear();
    for (const [k, n] of this.recentCounts) this.olderCounts.set(k, n);
    this.olderEvents = this.recent.length;
    this.recent.length = 0;
    this.recentCounts.clear();
  }
}

/** Adds `d` to key `k`'s count, deleting the key when it reaches 0. */
export function inc(m: Map<string, number>, k: string, d: number): void {
  const v = (m.get(k) ?? 0) + d;
  if (v === 0) m.delete(k);
  else m.set(k, v);
}

/** Most frequent key; ties go to the smallest id, so the result is deterministic. */
function top(m: ReadonlyMap<string, number>): string | null {
  let best: string | null = null;
  let bestN = -1;
  for (const [k, n] of m) {
    if (n > bestN || (n === bestN && best !== null && k < best)) {
      best = k;
      bestN = n;
    }
  }
  return best;
}

/** 1 when the top category of the last `window` events differs from that of the events before. */
class TopCategoryChanged implements Signal {
  private readonly h: SplitHistory;
  constructor(window: number) {
    this.h = new SplitHistory(window);
  }
  score(c: string): number {
    this.h.push(c);
    return this.h.full && top(this.h.recentCounts) !== top(this.h.olderCounts) ? 1 : 0;
  }
  rebase(): void {
    this.h.rebase();
  }
}

/** JS(last `window` events ‖ the reference before them), bits; 0 until both are filled. */
class JsScore implements Signal {
  private readonly h: SplitHistory;
  constructor(window: number) {
    this.h = new SplitHistory(window);
  }
  score(c: string): number {
    this.h.push(c);
    return this.h.full ? jsDivergence(this.h.recentCounts, this.h.olderCounts) : 0;
  }
  rebase(): void {
    this.h.rebase();
  }
}

/**
 * The scalar stream the change detectors watch: the "surprise" of each event, 1 − the share of
 * its category in the user's history before it (1 for a never-seen category). A migration to
 * new categories raises its mean.
 */
class Surprise {
  private readonly counts = new Map<string, number>();
  private n = 0;
  next(c: string): number {
    const x = this.n === 0 ? 1 : 1 - (this.counts.get(c) ?? 0) / this.n;
    inc(this.counts, c, 1);
    this.n++;
    return x;
  }
}

/** Page–Hinkley test for an increase in the mean of the surprise stream (δ = 0.005). */
class PageHinkley implements Signal {
  private readonly surprise = new Surprise();
  private n = 0;
  private mean = 0;
  private m = 0;
  private min = 0;
  constructor(
    private readonly lambda: number,
    private readonly delta = 0.005,
  ) {}
  score(c: string): number {
    const x = this.surprise.next(c);
    this.n++;
    this.mean += (x - this.mean) / this.n;
    this.m += x - this.mean - this.delta;
    this.min = Math.min(this.min, this.m);
    return this.m - this.min > this.lambda ? 1 : 0;
  }
  rebase(): void {
    this.n = 0;
    this.mean = 0;
    this.m = 0;
    this.min = 0;
  }
}

/**
 * ADWIN (Bifet & Gavaldà 2007), the exact O(W) variant over a bounded window (300 values): it
 * signals when some split of the window into an older and a newer part has means differing by
 * more than ε_cut = sqrt(ln(4·|W|/δ) / (2m)), m the harmonic mean of the part sizes; only
 * increases count (new categories), and the older part is dropped. A detection is latched (the
 * signal stays 1) until the gate rebases it, so it can gather the gate's evidence.
 */
class Adwin implements Signal {
  private readonly surprise = new Surprise();
  private window: number[] = [];
  private changed = false;
  constructor(
    private readonly delta: number,
    private readonly maxWindow = 300,
    private readonly minPart = 5,
  ) {}
  score(c: string): number {
    this.window.push(this.surprise.next(c));
    if (this.window.length > this.maxWindow) this.window.shift();
    const w = this.window;
    const n = w.length;
    let total = 0;
    for (const v of w) total += v;
    let older = 0;
    const logTerm = Math.log((4 * n) / this.delta);
    for (let i = 1; i < n; i++) {
      older += w[i - 1] as number;
      const n0 = i;
      const n1 = n - i;
      if (n0 < this.minPart || n1 < this.minPart) continue;
      const mu0 = older / n0;
      const mu1 = (total - older) / n1;
      const m = 1 / (1 / n0 + 1 / n1);
      if (mu1 - mu0 > Math.sqrt(logTerm / (2 * m))) {
        this.window = w.slice(i);
        this.changed = true;
        break;
      }
    }
    return this.changed ? 1 : 0;
  }
  rebase(): void {
    this.changed = false;
    this.window = [];
  }
}
