/** Wall clock behind an interface, so tests drive time (STYLE.md §12). Only operational timers use it. */
export interface Clock {
  /** Wall-clock epoch milliseconds. */
  nowMs(): number;
}

export const systemClock: Clock = { nowMs: () => Date.now() };

export class ManualClock implements Clock {
  constructor(private t = 0) {}
  nowMs(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}
