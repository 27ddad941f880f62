/**
 * V8's --trace-gc lines of one process, and what they say of a time window: how much of the main
 * thread the garbage collector took.
 *
 * Why the bench needs this besides the processor's own GC metric: /metrics counts GC *pauses*
 * (PerformanceObserver 'gc' entries). A mark-compact also marks incrementally on the main thread,
 * in steps between those pauses, and on a loaded 2-core machine (the concurrent markers get little
 * CPU) those steps are most of its cost: in the reduced bench on 2026-11-27 they took 200–480 ms
 * of the main thread within 0.3–0.6 s, every 5 s or so, against pauses of 20–45 ms. --trace-gc
 * reports them per collection ("+ X ms in N steps since start of marking").
 *
 * Times are ms since the isolate started (V8's clock in these lines), not wall time.
 */

export interface GcEvent {
  /** The isolate's address: the main thread and each worker thread have their own. */
  readonly isolate: string;
  /** ms since the isolate started. */
  readonly atMs: number;
  readonly kind: 'scavenge' | 'mark-compact' | 'other';
  /** Heap MB before and after the collection. */
  readonly beforeMb: number;
  readonly afterMb: number;
  /** The collection's own pause on the main thread, ms. */
  readonly pauseMs: number;
  /** Mark-compact: main-thread incremental marking steps before the pause, ms (0 when none). */
  readonly markingStepsMs: number;
  /** Mark-compact: wall time from the start of marking to the end of the pause, ms (0 when none). */
  readonly markingWallMs: number;
}

const LINE =
  /^\[\d+:(0x[0-9a-f]+)\]\s+(\d+) ms: ([A-Za-z][A-Za-z -]*?(?: \([a-z ]+\))?) ([\d.]+) \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB, (?:pooled: [\d.]+ MB, )?([\d.]+) \/ [\d.]+ ms(.*)$/;
const MARKING =
  /\(\+ ([\d.]+) ms in \d+ steps since start of marking.*?walltime since start of marking ([\d.]+) ms\)/;

/** The collections in a --trace-gc log; lines that are not V8's (the process's own log) are skipped. */
export function parseGcTrace(text: string): GcEvent[] {
  const out: GcEvent[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line.trim());
    if (!m) continue;
    const [, isolate, at, name, before, after, pause, rest] = m as unknown as string[];
    const kind = name?.startsWith('Scavenge')
      ? 'scavenge'
      : name?.startsWith('Mark-Compact')
        ? 'mark-compact'
        : 'other';
    const marking = kind === 'mark-compact' ? MARKING.exec(rest ?? '') : null;
    out.push({
      isolate: isolate as string,
      atMs: Number(at),
      kind,
      beforeMb: Number(before),
      afterMb: Number(after),
      pauseMs: Number(pause),
      markingStepsMs: marking ? Number(marking[1]) : 0,
      markingWallMs: marking ? Number(marking[2]) : 0,
    });
  }
  return out;
}

export interface GcWindowSummary {
  readonly seconds: number;
  readonly markCompacts: number;
  /** Main-thread incremental marking of those mark-compacts, ms in all and the largest one's. */
  readonly markingStepsMs: number;
  readonly maxMarkingStepsMs: number;
  readonly markCompactPauseMs: number;
  readonly scavenges: number;
  readonly scavengePauseMs: number;
  readonly maxScavengePauseMs: number;
  /**
   * Heap growth from one mark-compact's end to the next one's start, MB per second of the
   * intervals (what survived young collections: about the promotion rate); NaN with < 2.
   */
  readonly heapGrowthMbPerS: number;
  /** Heap MB after the window's mark-compacts (the live heap), smallest and largest. */
  readonly liveMinMb: number;
  readonly liveMaxMb: number;
}

/** The main thread's isolate: the first one in the log (a worker starts after it). */
export function mainIsolate(events: readonly GcEvent[]): string | undefined {
  return events[0]?.isolate;
}

/** The main isolate's collections that end in [fromMs, toMs) (isolate time). */
export function summariseGcWindow(events: readonly GcEvent[], fromMs: number, toMs: number): GcWindowSummary {
  const main = mainIsolate(events);
  const inWindow = events.filter((e) => e.isolate === main && e.atMs >= fromMs && e.atMs < toMs);
  const mc = inWindow.filter((e) => e.kind === 'mark-compact');
  const sc = inWindow.filter((e) => e.kind === 'scavenge');
  const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
  let grown = 0;
  let over = 0;
  for (let i = 1; i < mc.length; i++) {
    const a = mc[i - 1] as GcEvent;
    const b = mc[i] as GcEvent;
    grown += b.beforeMb - a.afterMb;
    over += b.atMs - a.atMs;
  }
  const live = mc.map((e) => e.afterMb);
  return {
    seconds: (toMs - fromMs) / 1000,
    markCompacts: mc.length,
    markingStepsMs: sum(mc.map((e) => e.markingStepsMs)),
    maxMarkingStepsMs: Math.max(0, ...mc.map((e) => e.markingStepsMs)),
    markCompactPauseMs: sum(mc.map((e) => e.pauseMs)),
    scavenges: sc.length,
    scavengePauseMs: sum(sc.map((e) => e.pauseMs)),
    maxScavengePauseMs: Math.max(0, ...sc.map((e) => e.pauseMs)),
    heapGrowthMbPerS: over > 0 ? grown / (over / 1000) : NaN,
    liveMinMb: live.length > 0 ? Math.min(...live) : NaN,
    liveMaxMb: live.length > 0 ? Math.max(...live) : NaN,
  };
}

/**
 * Main-thread GC ms in each whole second from `fromMs` (isolate time): every pause in the second
 * it ends, and a mark-compact's marking steps spread evenly over its marking wall time (the trace
 * gives their sum, not when each ran).
 */
export function gcMsPerSecond(events: readonly GcEvent[], fromMs: number, seconds: number): number[] {
  const main = mainIsolate(events);
  const out = new Array<number>(seconds).fill(0);
  const add = (atMs: number, ms: number): void => {
    const i = Math.floor((atMs - fromMs) / 1000);
    if (i >= 0 && i < seconds) out[i] = (out[i] as number) + ms;
  };
  for (const e of events) {
    if (e.isolate !== main) continue;
    add(e.atMs, e.pauseMs);
    if (e.markingStepsMs <= 0) continue;
    const start = e.atMs - e.markingWallMs;
    // Spread in 10 ms slices: enough for 1 s bins.
    const slices = Math.max(1, Math.round(e.markingWallMs / 10));
    for (let k = 0; k < slices; k++)
      add(start + ((k + 0.5) * e.markingWallMs) / slices, e.markingStepsMs / slices);
  }
  return out;
}
