/**
 * The chaos nemesis's schedule: a pure function of (seed, duration), so a failing seed replays
 * the same faults at the same offsets. Two lanes run side by side and overlap on purpose:
 *   - processor lane: kill -9 of one or two instances, SIGSTOP zombies, scaling 1..4, and a
 *     restart that is killed again while its partitions restore; a new fault may start before
 *     the previous one has healed;
 *   - infrastructure lane: broker stop/start, broker SIGSTOP (hung, not dead), registry outage;
 *     one at a time (a broker that is stopped cannot also be paused).
 * Which instance a fault hits is chosen when it runs, from the fault's own `pick` value among
 * the instances in a state the fault applies to.
 */
import { rng } from '../../../src/sim/simulator';

export type ProcessorFaultKind = 'kill' | 'kill-two' | 'zombie' | 'scale' | 'kill-while-restoring';
export type InfraFaultKind = 'broker-stop' | 'broker-pause' | 'registry-outage';
export type FaultKind = ProcessorFaultKind | InfraFaultKind;

export interface Fault {
  /** Order in the schedule (both lanes merged by start time), 1-based. */
  readonly id: number;
  readonly kind: FaultKind;
  /** Start, ms after the nemesis starts. */
  readonly atMs: number;
  /** How long the fault holds before it heals, ms (0 for scale: it stays until the next scale). */
  readonly holdMs: number;
  /** 0..1: chooses the target instance(s) among those the fault applies to when it runs. */
  readonly pick: number;
  /** Instance count after a scale fault (1..4). */
  readonly scaleTo?: number;
}

export interface ScheduleOptions {
  readonly seed: number;
  /** Faults start within [warmUpMs, durationMs - quietTailMs). */
  readonly durationMs: number;
  readonly warmUpMs?: number;
  readonly quietTailMs?: number;
  /** Longer than the consumer session timeout, so a zombie is really taken over. */
  readonly sessionTimeoutMs: number;
}

const PROCESSOR_KINDS: readonly [ProcessorFaultKind, number][] = [
  ['kill', 3],
  ['kill-two', 1],
  ['zombie', 2],
  ['scale', 2],
  ['kill-while-restoring', 1],
];
const INFRA_KINDS: readonly [InfraFaultKind, number][] = [
  ['broker-stop', 1],
  ['broker-pause', 1],
  ['registry-outage', 1],
];

function weighted<K>(r: () => number, choices: readonly [K, number][]): K {
  const total = choices.reduce((n, [, w]) => n + w, 0);
  let x = r() * total;
  for (const [k, w] of choices) {
    x -= w;
    if (x < 0) return k;
  }
  return (choices[choices.length - 1] as [K, number])[0];
}

const between = (r: () => number, lo: number, hi: number): number => Math.round(lo + r() * (hi - lo));

export function chaosSchedule(o: ScheduleOptions): Fault[] {
  const warmUp = o.warmUpMs ?? 30_000;
  const end = o.durationMs - (o.quietTailMs ?? 30_000);
  const draft: Omit<Fault, 'id'>[] = [];

  // Separate streams per lane: adding a fault kind to one lane does not move the other's faults.
  const rp = rng(o.seed * 7919 + 1);
  for (let t = warmUp + between(rp, 0, 10_000); t < end; t += between(rp, 8_000, 40_000)) {
    const kind = weighted(rp, PROCESSOR_KINDS);
    const pick = rp();
    switch (kind) {
      case 'kill':
      case 'kill-two':
        draft.push({ kind, atMs: t, holdMs: between(rp, 500, 6_000), pick });
        break;
      case 'zombie':
        draft.push({ kind, atMs: t, holdMs: o.sessionTimeoutMs + between(rp, 2_000, 15_000), pick });
        break;
      case 'scale':
        draft.push({ kind, atMs: t, holdMs: 0, pick, scaleTo: between(rp, 1, 4) });
        break;
      case 'kill-while-restoring':
        draft.push({ kind, atMs: t, holdMs: between(rp, 0, 400), pick });
        break;
    }
  }

  const ri = rng(o.seed * 7919 + 2);
  for (let t = warmUp + between(ri, 5_000, 40_000); t < end;) {
    const kind = weighted(ri, INFRA_KINDS);
    const holdMs =
      kind === 'registry-outage'
        ? between(ri, 10_000, 60_000)
        : kind === 'broker-pause'
          ? between(ri, 3_000, 20_000)
          : between(ri, 2_000, 15_000);
    draft.push({ kind, atMs: t, holdMs, pick: ri() });
    t += holdMs + between(ri, 15_000, 90_000);
  }

  return draft
    .sort((a, b) => a.atMs - b.atMs || a.kind.localeCompare(b.kind))
    .map((f, i) => ({ id: i + 1, ...f }));
}

export const isInfraFault = (k: FaultKind): k is InfraFaultKind =>
  k === 'broker-stop' || k === 'broker-pause' || k === 'registry-outage';

/** Pairs of faults whose active intervals overlap (a scale counts as a 5 s event). */
export function overlappingPairs(faults: readonly Fault[]): number {
  let n = 0;
  const span = (f: Fault): [number, number] => [f.atMs, f.atMs + Math.max(f.holdMs, 5_000)];
  for (let i = 0; i < faults.length; i++) {
    for (let j = i + 1; j < faults.length; j++) {
      const [a0, a1] = span(faults[i] as Fault);
      const [b0, b1] = span(faults[j] as Fault);
      if (b0 < a1 && a0 < b1) n++;
    }
  }
  return n;
}
