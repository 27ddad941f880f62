import { gcMsPerSecond, parseGcTrace, summariseGcWindow } from '../../bench/lib/gc-trace';

// Lines as node 24's --trace-gc writes them (from a reduced bench run, 2026-11-27), with a worker
// isolate's line and a line of the process's own log among them.
const TRACE = [
  '[18271:0x16209000]      396 ms: Mark-Compact 15.5 (29.3) -> 12.7 (30.8) MB, pooled: 0 MB, 8.62 / 0.00 ms  (+ 7.5 ms in 151 steps since start of marking, biggest step 0.2 ms, walltime since start of marking 18 ms) (average mu = 0.959, current mu = 0.959) finalize incremental marking via task; GC in old space requested',
  '[18271:0x7fa018197000]       34 ms: Scavenge 3.5 (4.5) -> 2.8 (5.5) MB, pooled: 0 MB, 1.00 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure; ',
  '{"level":"info","msg":"partition assigned"}',
  '[18271:0x16209000]     1200 ms: Scavenge 40.0 (60.0) -> 30.0 (60.0) MB, pooled: 0 MB, 28.46 / 0.10 ms  (average mu = 0.936, current mu = 0.929) task; ',
  '[18271:0x16209000]     2400 ms: Mark-Compact (reduce) 50.7 (80.0) -> 20.7 (60.0) MB, pooled: 0 MB, 20.00 / 0.10 ms  (+ 300.0 ms in 40 steps since start of marking, biggest step 20.0 ms, walltime since start of marking 400 ms) (average mu = 0.9) finalize incremental marking via stack guard; GC in old space requested',
].join('\n');

describe('gc-trace', () => {
  const events = parseGcTrace(TRACE);

  it('parses V8 lines only, with kind, heap, pause and marking steps', () => {
    expect(events).toHaveLength(4);
    expect(events[0]).toEqual({
      isolate: '0x16209000',
      atMs: 396,
      kind: 'mark-compact',
      beforeMb: 15.5,
      afterMb: 12.7,
      pauseMs: 8.62,
      markingStepsMs: 7.5,
      markingWallMs: 18,
    });
    expect(events[1]).toMatchObject({ isolate: '0x7fa018197000', kind: 'scavenge', markingStepsMs: 0 });
    expect(events[3]).toMatchObject({ kind: 'mark-compact', markingStepsMs: 300, markingWallMs: 400 });
  });

  it('summarises the main isolate in a window: marking steps, pauses, growth between mark-compacts', () => {
    const s = summariseGcWindow(events, 0, 3000);
    expect(s.markCompacts).toBe(2);
    expect(s.markingStepsMs).toBeCloseTo(307.5);
    expect(s.maxMarkingStepsMs).toBe(300);
    expect(s.markCompactPauseMs).toBeCloseTo(28.62);
    // The worker's scavenge is not the main thread's.
    expect(s.scavenges).toBe(1);
    expect(s.scavengePauseMs).toBeCloseTo(28.46);
    // 12.7 MB after the first, 50.7 MB before the second, 2.004 s apart.
    expect(s.heapGrowthMbPerS).toBeCloseTo(38 / 2.004);
    expect([s.liveMinMb, s.liveMaxMb]).toEqual([12.7, 20.7]);
    expect(summariseGcWindow(events, 1000, 2000).markCompacts).toBe(0);
  });

  it('spreads marking steps over their wall time and puts pauses where they end', () => {
    const perS = gcMsPerSecond(events, 0, 3);
    // 1 s: the scavenge (28.46). 2 s: 2000–2400 ms holds all 400 ms of marking wall time (300 ms
    // of steps) and the 20 ms pause. 0 s: the first mark-compact (7.5 + 8.62).
    expect(perS[0]).toBeCloseTo(16.12);
    expect(perS[1]).toBeCloseTo(28.46);
    expect(perS[2]).toBeCloseTo(320);
  });
});
