/**
 * The processor's topology without Kafka: the bench's workload (one simulated day, users in
 * event-time order, as `make bench-e2e` preloads it) through PartitionProcessor with profiles on,
 * in chunks, as the live path runs it. Prints one JSON line: events, timers fired, states
 * written, outputs by kind, µs of wall and CPU per event, and two digests, one of every output in
 * order and one of every final state.
 *
 * What it is for: a change meant to be faster but not different (the per-event update, the
 * histograms, the encoder's thread) must give the same two digests before and after, whatever
 * --chunk is; run both versions alternately for the timing, the machine is noisy. `--heap-profile FILE` writes V8's
 * sampling heap profile with collected objects included (what is allocated, not what stays).
 * `--state-bytes` (run node with --expose-gc) then measures what the final states hold in memory,
 * in ten groups by window and histogram size: each group's heap and off-heap bytes per state
 * (dropped, then collected), against decodedStateBytes (src/state/state-cache-budget.ts), the
 * estimate the state cache's budget counts with. One tab-separated line per group on stderr.
 *
 *   npx tsx test/bench/lib/core-probe.ts [--users 10000] [--chunk 500] [--encoder-thread worker|main]
 *     [--heap-profile FILE]
 *   node --expose-gc --import tsx test/bench/lib/core-probe.ts --state-bytes
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { numberFlag, parseScriptArgs, stringFlag } from '../../../src/cli/args';
import type { DecayedHistogram } from '../../../src/core/decayed-histogram';
import type { EventWindow } from '../../../src/core/event-window';
import { windowEntries, windowLength } from '../../../src/core/event-window';
import type { UserState } from '../../../src/core/user-state';
import { rowsToEvents } from '../../../src/eval/offline-run';
import type { PipelineRecord } from '../../../src/pipeline/partition-processor';
import { PartitionProcessor } from '../../../src/pipeline/partition-processor';
import { simulate } from '../../../src/sim/simulator';
import { decodedStateBytes } from '../../../src/state/state-cache-budget';
import { offlineModel } from './offline-model';
import { objectStateView } from '../../../src/state/state-view';

const args = parseScriptArgs({
  name: 'core-probe.ts',
  summary:
    'The topology without Kafka on the bench workload: µs per event and digests of outputs and states.',
  usage: ['[--users N] [--chunk N] [--encoder-thread worker|main] [--heap-profile FILE] [--state-bytes]'],
  options: {
    users: { type: 'string', valueName: 'N', description: 'simulated users (default 10,000)' },
    chunk: { type: 'string', valueName: 'N', description: 'records per process() call (default 500)' },
    'encoder-thread': { type: 'string', valueName: 'T', description: 'worker or main (default main)' },
    'heap-profile': { type: 'string', valueName: 'FILE', description: 'write a sampling heap profile' },
    'state-bytes': {
      type: 'boolean',
      description: 'measure the final states in memory against decodedStateBytes (needs --expose-gc)',
    },
  },
});

/** JSON of a state or output that does not depend on how a histogram, a window or a vector is held. */
function canonical(_key: string, v: unknown): unknown {
  if (v !== null && typeof v === 'object' && 'anchorTimeMs' in v && 'ids' in v) {
    const h = v as DecayedHistogram;
    return { anchorTimeMs: h.anchorTimeMs, pairs: h.ids.map((c, i) => [c, h.weights[i]]) };
  }
  if (v !== null && typeof v === 'object' && 'categories' in v && 'times' in v)
    return windowEntries(v as EventWindow);
  if (v instanceof Map) return [...(v as Map<unknown, unknown>)];
  if (ArrayBuffer.isView(v)) return Array.from(v as Float32Array);
  return v;
}

async function main(): Promise<void> {
  const users = numberFlag(args, 'users', 10_000);
  const chunk = numberFlag(args, 'chunk', 500);
  const thread = stringFlag(args, 'encoder-thread') ?? 'main';
  if (thread !== 'main' && thread !== 'worker')
    throw new Error(`--encoder-thread is worker or main, not ${thread}`);
  const heapProfile = stringFlag(args, 'heap-profile');
  const { encoder, manifest, params } = await offlineModel(thread);
  const rows = simulate({ seed: 2026, users, days: 1, userPrefix: 'bench' }).rows.sort(
    (a, b) => a.eventTimeMs - b.eventTimeMs || (a.userId < b.userId ? -1 : 1),
  );
  const events = rowsToEvents(rows, 'probe');
  const states = new Map<string, UserState>();
  const processor = new PartitionProcessor(objectStateView(states), {
    encoder,
    manifest,
    params,
    profilesEnabled: true,
  });
  const outputs = new Map<string, number>();
  const outDigest = createHash('sha256');
  let timers = 0;
  let processed = 0;
  let writes = 0;
  const inspector = new Session();
  if (heapProfile) {
    inspector.connect();
    await inspector.post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  }
  // Timed: process() and applying its plan; hashing the outputs is outside the clock.
  let wallNs = 0n;
  const cpu0 = process.cpuUsage();
  let hashCpu = 0;
  for (let i = 0; i < events.length; i += chunk) {
    const records: PipelineRecord[] = events
      .slice(i, i + chunk)
      .map((event, j) => ({ kind: 'event', offset: String(i + j), event }));
    const t0 = process.hrtime.bigint();
    const plan = await processor.process(records);
    for (const [u, s] of plan.stateWrites) {
      if (s) states.set(u, s);
      else states.delete(u);
    }
    wallNs += process.hrtime.bigint() - t0;
    const h0 = process.cpuUsage();
    // One line per output, not one array per chunk: the digest must not depend on where the chunks
    // are cut, as the outputs do not (partition-processor.ts), so --chunk can vary between runs.
    for (const o of plan.outputs) outDigest.update(`${JSON.stringify(o, canonical)}\n`);
    const h1 = process.cpuUsage(h0);
    hashCpu += h1.user + h1.system;
    for (const o of plan.outputs) outputs.set(o.kind, (outputs.get(o.kind) ?? 0) + 1);
    timers += plan.counts.timersFired;
    processed += plan.counts.processed;
    writes += plan.stateWrites.size;
  }
  const cpu = process.cpuUsage(cpu0);
  if (heapProfile) {
    const { profile } = await inspector.post('HeapProfiler.stopSampling');
    writeFileSync(heapProfile, JSON.stringify(profile));
  }
  const stateDigest = createHash('sha256');
  for (const u of [...states.keys()].sort()) stateDigest.update(JSON.stringify(states.get(u), canonical));
  await encoder.dispose();
  if (args.flags.get('state-bytes') === true) await measureStateBytes(states);
  console.log(
    JSON.stringify({
      users,
      chunk,
      encoderThread: thread,
      events: processed,
      timersFired: timers,
      statesWritten: writes,
      outputs: Object.fromEntries(outputs),
      usPerEvent: Number((Number(wallNs) / 1000 / processed).toFixed(1)),
      cpuUsPerEvent: Number(((cpu.user + cpu.system - hashCpu) / processed).toFixed(1)),
      outputDigest: outDigest.digest('hex').slice(0, 16),
      stateDigest: stateDigest.digest('hex').slice(0, 16),
    }),
  );
}

/**
 * Heap and off-heap bytes per state in ten groups of the states (ordered by window length plus
 * histogram entries): each group is dropped in turn and the memory it freed, after collections,
 * is divided by its size. Printed with the group's mean window length, histogram entries and
 * decodedStateBytes. The map's user ids stay (timers and stores hold them in the service too).
 */
async function measureStateBytes(states: Map<string, UserState>): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('--state-bytes needs node --expose-gc');
  const settle = async (): Promise<number> => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 100));
    }
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  };
  // Per user: window entries, histogram entries and the estimate, once; groups by their sum.
  const sized = [...states].map(([u, s]) => {
    const window = windowLength(s.window);
    const histogram = s.shortHorizon.ids.length + s.longHorizon.ids.length;
    return { u, window, histogram, estimate: decodedStateBytes(s) };
  });
  sized.sort((a, b) => a.window + a.histogram - (b.window + b.histogram));
  const groups = 10;
  const per = Math.ceil(sized.length / groups);
  process.stderr.write('states\tmeasured B/state\twindow entries\thistogram entries\tdecodedStateBytes\n');
  for (let g = 0; g < groups; g++) {
    const group = sized.slice(g * per, (g + 1) * per);
    if (group.length === 0) break;
    const mean = (k: 'window' | 'histogram' | 'estimate'): number =>
      group.reduce((n, x) => n + x[k], 0) / group.length;
    const before = await settle();
    for (const { u } of group) states.set(u, undefined as unknown as UserState);
    const after = await settle();
    const n = group.length;
    process.stderr.write(
      `${[n, (before - after) / n, mean('window'), mean('histogram'), mean('estimate')].map((x) => x.toFixed(1)).join('\t')}\n`,
    );
  }
}

void main();
