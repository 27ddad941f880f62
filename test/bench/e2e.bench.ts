/**
 * `make bench` (part): end-to-end throughput and latency with exactly-once on, next to the
 * transport's own limits measured in the SAME run on the SAME topic; restore time and memory of
 * 1,000,000 users; one CPU profile of the hot path. Needs the local stack (with-stack.sh); asserts
 * nothing; writes test/bench/results/e2e.{json,md}.
 *
 *   node --expose-gc --max-old-space-size=8192 --import tsx test/bench/e2e.bench.ts \
 *     [--events 1000000] [--users 125000] [--partitions 4] [--latency-seconds 30] \
 *     [--restore-users 1000000] [--profile-seconds 40] [--processor dist|tsx]
 *
 * Phases, each a separate OS process measured from outside (committed offsets, /proc CPU + RSS):
 *   1. preload ≥ N simulated events (time-ordered, key = user id) into a fresh input topic;
 *   2. Kafka's Java ConsumerPerformance (read_committed) on that topic: the broker's ceiling;
 *   3. a kafkajs consume → produce passthrough with our transactional settings (lib/passthrough.ts);
 *   4. the processor (dist/src/main.js run: compiled first, as the image runs it) from offset 0
 *      until caught up; sustained events/s counted from its first commit (start-up, model load and
 *      group join excluded, reported apart);
 *   5. latency at 50 % of (4)'s rate, same processor: record timestamp → the group's committed
 *      offset passing the record (offsets commit in the same transaction as the outputs, so that
 *      is when the outputs become visible to read_committed consumers), polled every 10 ms, with
 *      a per-second trace of the processor's metrics and of CPU by process (/proc); then the same
 *      for the kafkajs passthrough at the same rate on a topic of its own: the transport's floor;
 *   6. restore: the processor's changelog states re-keyed to 1,000,000 users in a fresh
 *      changelog, restored by lib/restore-probe.ts (users/s and bytes per user after GC);
 *   7. profile: the processor again with --cpu-prof on a fresh group, top self-time costs.
 */
import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Kafka } from 'kafkajs';
import { loadConfig } from '../../src/shared/config';
import { numberFlag, parseScriptArgs, stringFlag } from '../../src/cli/args';
import { waitCaughtUp } from '../../src/kafka/caught-up';
import { ClickstreamEventSchema } from '../../src/kafka/avro-types.gen';
import { changelogValueToState } from '../../src/kafka/changelog-value';
import { CHECKPOINT_KEY } from '../../src/state/checkpoint';
import { createRegistry } from '../../src/kafka/clients';
import { assertReadComplete, readToEnd } from '../../src/kafka/read-to-end';
import { AvroSerde, valueSubject } from '../../src/kafka/serde';
import { setUpTopics } from '../../src/kafka/topics';
import { appTopicsEnv } from '../support/app-env';
import { eventIdNamer } from '../../src/io/event-ids';
import { toClickstreamEvent } from '../../src/kafka/replay-producer';
import type { DatasetRow } from '../../src/io/datasets';
import { simulate } from '../../src/sim/simulator';
import { ROOT, clusterFromEnv } from '../system/lib/cluster';
import { committedTotal, sleep } from '../support/committed-progress';
import type { LongTask, ProfileSummary } from './lib/cpu-profile';
import { longTasks, profileFiles, summariseProfiles } from './lib/cpu-profile';
import type { GcWindowSummary } from './lib/gc-trace';
import { gcMsPerSecond, parseGcTrace, summariseGcWindow } from './lib/gc-trace';
import { quantile } from '../../src/eval/metrics';
import { SERVICE_NODE_FLAGS } from '../../src/shared/node-flags';
import {
  CLK_TCK,
  COMPILED_MAIN,
  compileService,
  procCpuSeconds,
  procPeakRssMb,
  stackPid,
} from './lib/processes';
import { restoreChangelog } from './lib/restore-changelog';

const execFileP = promisify(execFile);
const args = parseScriptArgs({
  name: 'e2e.bench.ts',
  summary: 'End-to-end benchmark: throughput vs kafkajs and Java ceilings, latency, restore, profile.',
  usage: [
    '[--events N] [--users N] [--partitions N] [--latency-seconds S] [--latency-rate N] [--restore-users N] [--profile-seconds S] [--out DIR]',
  ],
  options: {
    events: { type: 'string', valueName: 'N', description: 'preloaded events (default 1,000,000)' },
    users: { type: 'string', valueName: 'N', description: 'simulated users (default 125,000)' },
    partitions: { type: 'string', valueName: 'N', description: 'input partitions (default 4)' },
    'latency-seconds': { type: 'string', valueName: 'S', description: 'latency phase length (default 30)' },
    'latency-rate': {
      type: 'string',
      valueName: 'N',
      description: 'latency phase input rate, events/s (default half the measured maximum)',
    },
    'restore-users': {
      type: 'string',
      valueName: 'N',
      description: 'users in the restore phase (default 1,000,000)',
    },
    'profile-seconds': {
      type: 'string',
      valueName: 'S',
      description: 'CPU profile length (default 40; 0 = no profile)',
    },
    'profile-restore': {
      type: 'boolean',
      description:
        'after the measured restore, restore the same changelog again under --cpu-prof and summarise it (a diagnostic; the measured restore is not sampled)',
    },
    'profile-latency': {
      type: 'boolean',
      description:
        'also run the measured processor under --cpu-prof and list the latency phase’s long tasks (a diagnostic: sampling slows the processor, so its throughput is not comparable)',
    },
    processor: {
      type: 'string',
      valueName: 'FROM',
      description:
        'dist (default): the compiled build, as the image runs it (the bench compiles it first); tsx: the TypeScript sources through tsx, as the bench ran them until 2026-11-27',
    },
    'processor-node-args': {
      type: 'string',
      valueName: 'ARGS',
      description:
        'extra node flags for the measured processor, space-separated (a diagnostic; with --trace-gc the report gives the main thread’s GC in the latency phase, marking steps included, per second and in all)',
    },
    out: { type: 'string', valueName: 'DIR', description: 'results folder (default test/bench/results)' },
  },
});
const EVENTS = numberFlag(args, 'events', 1_000_000);
const USERS = numberFlag(args, 'users', 125_000);
const PARTITIONS = numberFlag(args, 'partitions', 4);
const LATENCY_S = numberFlag(args, 'latency-seconds', 30);
/** 0 = half of the processor's measured maximum (the issue's operating point). */
const LATENCY_RATE = numberFlag(args, 'latency-rate', 0);
const RESTORE_USERS = numberFlag(args, 'restore-users', 1_000_000);
const PROFILE_S = numberFlag(args, 'profile-seconds', 40);
const PROFILE_LATENCY = args.flags.get('profile-latency') === true;
const PROFILE_RESTORE = args.flags.get('profile-restore') === true;
const OUT_DIR = stringFlag(args, 'out') ?? join(__dirname, 'results');
const PROCESSOR_FROM = stringFlag(args, 'processor') ?? 'dist';
if (PROCESSOR_FROM !== 'dist' && PROCESSOR_FROM !== 'tsx') {
  process.stderr.write(`e2e.bench.ts: --processor must be dist or tsx, not ${PROCESSOR_FROM}\n`);
  process.exit(2);
}
/** The processor's entry point: the compiled build (what ships) or the TypeScript source through tsx. */
const PROCESSOR_MAIN = PROCESSOR_FROM === 'dist' ? COMPILED_MAIN : 'src/main.ts';
const PROCESSOR_NODE_ARGS = (stringFlag(args, 'processor-node-args') ?? '')
  .split(' ')
  .filter((a) => a !== '');
/** The processor's --trace-gc lines (in processor.log) are summarised for the latency phase. */
const TRACE_GC = PROCESSOR_NODE_ARGS.includes('--trace-gc');
const WORK_DIR = join(ROOT, '.cache', 'bench');
const CHUNK = 2000;

function log(msg: string): void {
  process.stderr.write(`[bench:e2e] ${new Date().toISOString().slice(11, 19)} ${msg}\n`);
}
// ------------------------------------------------------------------ processes measured from outside

interface Child {
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;
}

function spawnNode(name: string, nodeArgs: string[], script: string[], env: Record<string, string>): Child {
  mkdirSync(WORK_DIR, { recursive: true });
  const out = createWriteStream(join(WORK_DIR, `${name}.log`));
  const tsx = script[0]?.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const proc = spawn(process.execPath, [...nodeArgs, ...tsx, ...script], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout?.pipe(out, { end: false });
  proc.stderr?.pipe(out, { end: false });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, exited };
}

/** The JSON line lib/restore-probe.ts prints. */
interface RestoreProbeResult {
  readonly users: number;
  readonly records: number;
  /** Epoch ms at which the restore began (after the probe's start-up). */
  readonly startedAtMs: number;
  readonly wallMs: number;
  /** The probe's CPU over the restore, all its threads (ms). */
  readonly cpuUserMs: number;
  readonly cpuSystemMs: number;
  readonly usersPerSec: number;
  readonly heapBytesPerUser: number;
  readonly offHeapBytesPerUser: number;
  readonly bytesPerUser: number;
  readonly rssMb: number;
}

interface RunMeasure {
  readonly events: number;
  /** Spawn → first committed offset: process start, model load, group join, restore. */
  readonly startupS: number;
  /** First commit → all committed. */
  readonly steadyS: number;
  readonly eventsPerSec: number;
  /** CPU seconds per wall second over the steady part (1.0 = one core busy). */
  readonly cpuCores: number;
  readonly peakRssMb: number;
}

/** Spawns, waits until the group has committed `events` records, measures; leaves it running. */
async function runUntilCaughtUp(
  kafka: Kafka,
  child: Child,
  groupId: string,
  topic: string,
  events: number,
  timeoutMs: number,
): Promise<RunMeasure> {
  const pid = child.proc.pid as number;
  const t0 = Date.now();
  let tFirst = 0;
  let doneAtFirst = 0;
  let cpuFirst = 0;
  let exitCode: number | null | undefined;
  void child.exited.then((c) => (exitCode = c));
  for (;;) {
    if (exitCode !== undefined) throw new Error(`process exited with ${exitCode} before catching up`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`not caught up within ${timeoutMs} ms`);
    let done = 0;
    try {
      done = await committedTotal(kafka, groupId, topic);
    } catch {
      // group not there yet
    }
    if (done > 0 && tFirst === 0) {
      tFirst = Date.now();
      doneAtFirst = done;
      cpuFirst = procCpuSeconds(pid);
    }
    if (done >= events) {
      const tEnd = Date.now();
      const steadyS = (tEnd - tFirst) / 1000;
      return {
        events,
        startupS: (tFirst - t0) / 1000,
        steadyS,
        eventsPerSec: Math.round((events - doneAtFirst) / steadyS),
        cpuCores: (procCpuSeconds(pid) - cpuFirst) / steadyS,
        peakRssMb: Math.round(procPeakRssMb(pid)),
      };
    }
    await sleep(200);
  }
}

async function stopChild(c: Child): Promise<void> {
  c.proc.kill('SIGTERM');
  const code = await Promise.race([c.exited, sleep(30_000).then(() => 'timeout' as const)]);
  if (code === 'timeout') {
    c.proc.kill('SIGKILL');
    await c.exited;
  }
}

// ------------------------------------------------------------------------------------ the phases

interface Workload {
  readonly preload: { key: string; value: Buffer }[];
  readonly later: { key: string; value: Buffer }[];
  readonly users: number;
}

async function buildWorkload(serde: AvroSerde, topic: string): Promise<Workload> {
  // ~16 events per user-day at activity 1 (the real Taobao rate): one day of USERS users gives
  // the preload plus a tail for the latency phase.
  const sim = simulate({ seed: 2026, users: USERS, days: 1, userPrefix: 'bench' });
  const rows: DatasetRow[] = sim.rows;
  rows.sort((a, b) => a.eventTimeMs - b.eventTimeMs || (a.userId < b.userId ? -1 : 1));
  if (rows.length < EVENTS + 10_000) throw new Error(`simulation gave ${rows.length} events; raise --users`);
  const id = await serde.register(valueSubject(topic), ClickstreamEventSchema);
  const eventId = eventIdNamer('bench');
  const encode = (row: DatasetRow): { key: string; value: Buffer } => {
    return {
      key: row.userId,
      value: serde.encode(id, toClickstreamEvent(row, eventId(row))),
    };
  };
  const preload = rows.slice(0, EVENTS).map(encode);
  const later = rows.slice(EVENTS).map(encode);
  return { preload, later, users: new Set(rows.slice(0, EVENTS).map((r) => r.userId)).size };
}

async function produceAll(
  kafka: Kafka,
  topic: string,
  records: readonly { key: string; value: Buffer | null; partition?: number }[],
): Promise<number> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const t0 = Date.now();
  try {
    let batch: { key: string; value: Buffer | null; partition?: number }[] = [];
    let bytes = 0;
    for (const r of records) {
      batch.push(r);
      bytes += r.key.length + (r.value?.length ?? 0);
      if (bytes >= 900_000) {
        await producer.send({ topic, messages: batch, acks: -1 });
        batch = [];
        bytes = 0;
      }
    }
    if (batch.length > 0) await producer.send({ topic, messages: batch, acks: -1 });
  } finally {
    await producer.disconnect();
  }
  return (Date.now() - t0) / 1000;
}

interface JavaPerf {
  readonly eventsPerSec: number;
  readonly fetchEventsPerSec: number;
  readonly mbPerSec: number;
  readonly raw: string;
}

async function javaConsumerPerf(brokers: string, topic: string, events: number): Promise<JavaPerf> {
  const libs = join(process.env.IDRIFT_CACHE_DIR ?? join(ROOT, '.cache'), 'kafka', 'libs', '*');
  const props = join(WORK_DIR, 'consumer-perf.properties');
  writeFileSync(props, 'isolation.level=read_committed\nauto.offset.reset=earliest\n');
  const { stdout } = await execFileP(
    'java',
    [
      '-Xmx1g',
      '-cp',
      libs,
      'org.apache.kafka.tools.ConsumerPerformance',
      '--bootstrap-server',
      brokers,
      '--topic',
      topic,
      '--messages',
      String(events),
      '--group',
      `bench-java-${Date.now()}`,
      '--timeout',
      '60000',
      '--consumer.config',
      props,
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  // Header: start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,
  // rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
  const line = stdout
    .trim()
    .split('\n')
    .filter((l) => /^\d{4}-/.test(l))
    .pop();
  if (!line) throw new Error(`ConsumerPerformance printed no result: ${stdout}`);
  const f = line.split(',').map((x) => x.trim());
  return {
    eventsPerSec: Math.round(Number(f[5])),
    fetchEventsPerSec: Math.round(Number(f[9])),
    mbPerSec: Number(Number(f[3]).toFixed(1)),
    raw: line,
  };
}

interface Latency {
  readonly targetRate: number;
  /** Set with --latency-rate: the rate was given, not half the measured maximum. */
  readonly fixedRate?: boolean;
  readonly achievedRate: number;
  readonly records: number;
  readonly unobserved: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Per second of the phase: input, processing, transactions, lag, event-loop delay. */
  readonly trace: readonly TraceRow[];
}

/**
 * Sends `records` at `rate`/s (ticks of 10 ms, explicit record timestamps), then measures for
 * every record when the group's committed offset passed it. Per partition, a send's records are
 * the offsets from its base offset up to the next send's base offset on that partition.
 */
/** Sums of every sample of each metric in a Prometheus text exposition (labels summed over). */
function metricSums(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})? ([-+0-9.eE]+|NaN)$/.exec(line);
    if (m) out.set(m[1] as string, (out.get(m[1] as string) ?? 0) + Number(m[2]));
  }
  return out;
}

/** One second of the latency phase, from the processor's /metrics. */
interface TraceRow {
  readonly second: number;
  readonly sent: number;
  readonly processed: number;
  readonly transactions: number;
  /** Mean transaction (send → commit) and chunk (decode → commit) time in the second, ms. */
  readonly commitMs: number;
  readonly chunkMs: number;
  readonly chunkRecords: number;
  readonly lag: number;
  readonly eventLoopP99Ms: number;
  /** Garbage-collection pause time in the second (all kinds), ms. */
  readonly gcMs: number;
  /** State flushes in the second and the changelog records they wrote. */
  readonly flushes: number;
  readonly changelogRecords: number;
  /** CPU cores used in the second by the processor, the broker, and this process (load generator and poller). */
  readonly processorCores: number;
  readonly brokerCores: number;
  readonly benchCores: number;
  /** The machine's cores busy in the second (all processes), and cores stolen by the hypervisor. */
  readonly machineCores: number;
  readonly stealCores: number;
}

/**
 * Long tasks (≥ 100 ms without the event loop waiting on I/O) of the processor's main thread in
 * the latency phase, from its --cpu-prof file: the profile ends when the process exits, so the
 * phase is placed by its wall-clock distance from the exit. The main thread's file is the one
 * with samples in src/ (worker threads write their own).
 */
function latencyPhaseLongTasks(
  dir: string,
  startWall: number,
  endWall: number,
  exitWall: number,
): LongTask[] {
  const files = profileFiles(dir);
  let best: LongTask[] = [];
  for (const f of files) {
    const tasks = longTasks(f, ROOT, { fromEndMs: exitWall - startWall, toEndMs: exitWall - endWall }, 100);
    if (tasks.length > best.length) best = tasks;
  }
  return best;
}

/** Main-thread garbage collection in the latency phase, from the processor's --trace-gc lines. */
interface LatencyGc {
  readonly summary: GcWindowSummary;
  /** GC ms of the main thread in each second of the phase (index 0 = the trace's second 1). */
  readonly perSecondMs: number[];
}

/**
 * The processor's collections in the latency phase. V8 stamps its lines with ms since the
 * isolate started: the spawn plus node's start-up (tens of ms), close enough for 1 s bins.
 */
async function latencyPhaseGc(
  logFile: string,
  spawnWall: number,
  startWall: number,
  endWall: number,
): Promise<LatencyGc> {
  await sleep(200); // the log stream's last writes after the exit
  const events = parseGcTrace(readFileSync(logFile, 'utf8'));
  const from = startWall - spawnWall;
  const to = endWall - spawnWall;
  return {
    summary: summariseGcWindow(events, from, to),
    perSecondMs: gcMsPerSecond(events, from, Math.ceil((to - from) / 1000)),
  };
}

/** The pids whose CPU the trace samples (null: not sampled). */
interface TracedPids {
  readonly processor: number | null;
  readonly broker: number | null;
}

/** Busy and stolen CPU seconds of the whole machine so far (/proc/stat). */
function machineCpuSeconds(): { busy: number; steal: number } {
  try {
    const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    // user nice system idle iowait irq softirq steal: busy excludes idle, iowait and steal.
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
    return { busy: (user + nice + system + irq + softirq) / CLK_TCK, steal: steal / CLK_TCK };
  } catch {
    return { busy: NaN, steal: NaN };
  }
}

/** CPU seconds used so far: by the traced pids, this process and the machine (NaN: not read). */
interface CpuSnapshot {
  readonly t: number;
  readonly proc: number;
  readonly broker: number;
  readonly bench: number;
  readonly busy: number;
  readonly steal: number;
}

function cpuSnapshot(pids: TracedPids): CpuSnapshot {
  const u = process.cpuUsage();
  return {
    t: Date.now(),
    proc: pids.processor === null ? NaN : procCpuSeconds(pids.processor),
    broker: pids.broker === null ? NaN : procCpuSeconds(pids.broker),
    bench: (u.user + u.system) / 1e6,
    ...machineCpuSeconds(),
  };
}

/** CPU cores used during a window, by process (NaN where not readable). */
interface WindowCores {
  readonly broker: number;
  readonly bench: number;
  readonly machine: number;
  readonly steal: number;
}

/**
 * Samples the broker's, this process's and the machine's CPU every 100 ms until `stop` resolves;
 * `cores(from, to)` then gives the mean cores used between two epoch-ms instants (interpolated
 * between the samples), e.g. over a child's restore whose start it reports itself.
 */
async function sampleCpuUntil(
  stop: Promise<unknown>,
): Promise<(fromMs: number, toMs: number) => WindowCores> {
  const pids: TracedPids = { processor: null, broker: stackPid('broker') };
  const samples: CpuSnapshot[] = [cpuSnapshot(pids)];
  let done = false;
  void stop.finally(() => (done = true));
  while (!done) {
    await sleep(100);
    samples.push(cpuSnapshot(pids));
  }
  type Key = 'broker' | 'bench' | 'busy' | 'steal';
  const at = (t: number, k: Key): number => {
    const i = samples.findIndex((x) => x.t >= t);
    if (i <= 0) return (i === 0 ? samples[0] : samples[samples.length - 1])?.[k] ?? NaN;
    const a = samples[i - 1] as CpuSnapshot;
    const b = samples[i] as CpuSnapshot;
    return a[k] + ((b[k] - a[k]) * (t - a.t)) / Math.max(1, b.t - a.t);
  };
  return (fromMs, toMs) => {
    const s = Math.max(0.001, (toMs - fromMs) / 1000);
    const c = (k: Key): number => Number(((at(toMs, k) - at(fromMs, k)) / s).toFixed(2));
    return { broker: c('broker'), bench: c('bench'), machine: c('busy'), steal: c('steal') };
  };
}

/**
 * A full collection of this process, then a pause of `pauseMs` for the freed memory to be returned,
 * so that it does not happen during a measured phase. False when not run with --expose-gc.
 */
async function collectOwnGarbage(pauseMs: number): Promise<boolean> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return false;
  gc();
  await sleep(pauseMs);
  return true;
}

/** Scrapes `metricsUrl` every second until `running()` is false. */
async function traceMetrics(
  metricsUrl: string | null,
  pids: TracedPids,
  sentSoFar: () => number,
  running: () => boolean,
): Promise<TraceRow[]> {
  const rows: TraceRow[] = [];
  let prev: Map<string, number> | null = null;
  let prevSent = 0;
  const t0 = Date.now();
  let prevCpu = cpuSnapshot(pids);
  while (running()) {
    const now =
      metricsUrl === null
        ? new Map<string, number>()
        : metricSums(
            await fetch(metricsUrl).then(
              (r) => r.text(),
              () => '',
            ),
          );
    // Without a metrics URL only CPU is traced; with one, a failed scrape gives no row.
    const scraped = metricsUrl === null || now.size > 0;
    const sent = sentSoFar();
    const cpu = cpuSnapshot(pids);
    const cores = (k: 'proc' | 'broker' | 'bench' | 'busy' | 'steal'): number =>
      (cpu[k] - prevCpu[k]) / Math.max(0.001, (cpu.t - prevCpu.t) / 1000);
    if (prev && scraped) {
      const d = (k: string): number => (now.get(k) ?? 0) - (prev?.get(k) ?? 0);
      const chunks = d('idrift_batch_duration_seconds_count');
      const txns = d('idrift_commit_duration_seconds_count');
      rows.push({
        second: Math.round((Date.now() - t0) / 1000),
        sent: sent - prevSent,
        processed: d('idrift_events_processed_total'),
        transactions: txns,
        commitMs: txns > 0 ? (1000 * d('idrift_commit_duration_seconds_sum')) / txns : 0,
        chunkMs: chunks > 0 ? (1000 * d('idrift_batch_duration_seconds_sum')) / chunks : 0,
        chunkRecords: chunks > 0 ? d('idrift_batch_records_sum') / chunks : 0,
        lag: now.get('idrift_consumer_lag_records') ?? 0,
        eventLoopP99Ms: 1000 * (now.get('idrift_nodejs_eventloop_lag_p99_seconds') ?? 0),
        gcMs: 1000 * d('idrift_nodejs_gc_duration_seconds_sum'),
        flushes: d('idrift_state_flushes_total'),
        changelogRecords: d('idrift_changelog_records_total'),
        processorCores: cores('proc'),
        brokerCores: cores('broker'),
        benchCores: cores('bench'),
        machineCores: cores('busy'),
        stealCores: cores('steal'),
      });
    }
    prevCpu = cpu;
    if (scraped) prev = now;
    prevSent = sent;
    await sleep(1_000);
  }
  return rows;
}

async function measureLatency(
  kafka: Kafka,
  topic: string,
  groupId: string,
  records: readonly { key: string; value: Buffer }[],
  rate: number,
  seconds: number,
  metricsUrl: string | null,
  pids: TracedPids,
): Promise<Latency> {
  const want = Math.min(records.length, Math.floor(rate * seconds));
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const admin = kafka.admin();
  await admin.connect();
  const sends: { ts: number; bases: Map<number, bigint> }[] = [];
  const commits: Map<number, { t: number; offset: bigint }[]> = new Map();
  let polling = true;
  const poller = (async () => {
    const last = new Map<number, bigint>();
    while (polling) {
      const res = await admin.fetchOffsets({ groupId, topics: [topic] });
      const t = Date.now();
      for (const p of res[0]?.partitions ?? []) {
        const o = BigInt(p.offset);
        if (o !== (last.get(p.partition) ?? -2n)) {
          last.set(p.partition, o);
          const list = commits.get(p.partition) ?? [];
          list.push({ t, offset: o });
          commits.set(p.partition, list);
        }
      }
      await sleep(10);
    }
  })();
  let tracing = true;
  let sent = 0;
  const tracer = traceMetrics(
    metricsUrl,
    pids,
    () => sent,
    () => tracing,
  );
  const t0 = Date.now();
  while (sent < want) {
    const due = Math.min(want, Math.floor(((Date.now() - t0) / 1000) * rate));
    if (due > sent) {
      const ts = Date.now();
      const meta = await producer.send({
        topic,
        acks: -1,
        messages: records.slice(sent, due).map((r) => ({ ...r, timestamp: String(ts) })),
      });
      sends.push({ ts, bases: new Map(meta.map((m) => [m.partition, BigInt(m.baseOffset ?? '0')])) });
      sent = due;
    }
    await sleep(10);
  }
  const sendSeconds = (Date.now() - t0) / 1000;
  await producer.disconnect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((e) => [e.partition, BigInt(e.high)]));
  await waitCaughtUp(kafka, groupId, topic, 120_000);
  await sleep(50);
  polling = false;
  tracing = false;
  await poller;
  const trace = await tracer;
  await admin.disconnect();
  const latencies: number[] = [];
  let unobserved = 0;
  for (const [p, end] of ends) {
    const mine = sends.filter((s) => s.bases.has(p));
    const seen = commits.get(p) ?? [];
    mine.forEach((s, i) => {
      const from = s.bases.get(p) as bigint;
      const to = i + 1 < mine.length ? (mine[i + 1]?.bases.get(p) as bigint) : end;
      const n = Number(to - from);
      for (let k = 0; k < n; k++) {
        const offset = from + BigInt(k);
        const c = seen.find((x) => x.offset > offset);
        if (c) latencies.push(c.t - s.ts);
        else unobserved++;
      }
    });
  }
  latencies.sort((a, b) => a - b);
  return {
    targetRate: Math.round(rate),
    fixedRate: LATENCY_RATE > 0,
    achievedRate: Math.round(sent / sendSeconds),
    records: latencies.length,
    unobserved,
    p50Ms: quantile(latencies, 0.5),
    p95Ms: quantile(latencies, 0.95),
    p99Ms: quantile(latencies, 0.99),
    maxMs: latencies[latencies.length - 1] ?? NaN,
    trace,
  };
}

/** Records and key + value bytes of a topic, read_committed from the beginning to its end now. */
async function topicBytes(kafka: Kafka, topic: string): Promise<{ records: number; bytes: number }> {
  const n = { records: 0, bytes: 0 };
  const res = await readToEnd(kafka, {
    topic,
    groupId: `bench-bytes-${Date.now()}`,
    timeoutMs: 600_000,
    onBatch: (_p, messages) => {
      for (const m of messages) {
        n.records++;
        n.bytes += (m.key?.length ?? 0) + (m.value?.length ?? 0);
      }
    },
  });
  assertReadComplete(res, `topic ${topic}`);
  return n;
}

/**
 * Latest changelog value per user of the processor's run: the population of real states, as
 * version-3 values (any Avro value of an older version converted as restore would).
 */
async function changelogStates(kafka: Kafka, serde: AvroSerde, topic: string): Promise<Uint8Array[]> {
  const latest = new Map<string, Buffer>();
  const res = await readToEnd(kafka, {
    topic,
    partitions: Array.from({ length: PARTITIONS }, (_, i) => i),
    groupId: `bench-read-${Date.now()}`,
    timeoutMs: 300_000,
    onBatch: (_p, messages) => {
      for (const m of messages) {
        if (m.key && m.value && m.key.toString() !== CHECKPOINT_KEY) latest.set(m.key.toString(), m.value);
      }
    },
  });
  assertReadComplete(res, 'the changelog');
  const out: Uint8Array[] = [];
  for (const v of latest.values()) out.push(await changelogValueToState(v, serde));
  return out;
}

// ------------------------------------------------------------------------------------------ main

/**
 * The processor again, on a fresh group over the same input, under --cpu-prof for PROFILE_S
 * seconds (with the service's V8 flags, as the measured runs): its self time by area and function.
 */
async function profileHotPath(
  kafka: Kafka,
  input: string,
  env: Record<string, string>,
): Promise<NonNullable<Result['profile']>> {
  log(`profile: processor with --cpu-prof for ${PROFILE_S} s`);
  const profDir = join(WORK_DIR, 'cpu-profile');
  rmSync(profDir, { recursive: true, force: true });
  const config = loadConfig(env);
  await setUpTopics(kafka, config, {
    inputPartitions: PARTITIONS,
    replicationFactor: 1,
  });
  const profProc = spawnNode(
    'processor-profiled',
    ['--cpu-prof', `--cpu-prof-dir=${profDir}`, '--max-old-space-size=8192', ...SERVICE_NODE_FLAGS],
    [PROCESSOR_MAIN, 'run'],
    env,
  );
  await sleep(PROFILE_S * 1000);
  const profiledEvents = await committedTotal(kafka, config.appId, input);
  await stopChild(profProc);
  const profile = summariseProfiles(profileFiles(profDir), ROOT);
  log(
    `profile: ${profile.files} file(s), top: ${profile.topFunctions
      .slice(0, 3)
      .map((f) => f.name)
      .join(', ')}`,
  );
  return { seconds: PROFILE_S, eventsProcessed: profiledEvents, ...profile };
}

async function main(): Promise<void> {
  const cluster = clusterFromEnv(process.env);
  const kafka = cluster.kafka;
  const brokers = cluster.brokers.join(',');
  const serde = new AvroSerde(createRegistry({ url: cluster.registryUrl }));
  const runId = Date.now().toString(36);
  rmSync(WORK_DIR, { recursive: true, force: true });
  mkdirSync(WORK_DIR, { recursive: true });
  if (PROCESSOR_FROM === 'dist') {
    log('compiling the processor (tsc -p tsconfig.build.json → dist/)');
    await compileService();
  }
  const appEnv = (appId: string, input: string): Record<string, string> => ({
    IDRIFT_KAFKA_BROKERS: brokers,
    IDRIFT_SCHEMA_REGISTRY_URL: cluster.registryUrl,
    ...appTopicsEnv(appId, input),
    IDRIFT_INPUT_PARTITIONS: String(PARTITIONS),
    IDRIFT_EXECUTION_PROVIDER: 'cpu',
    IDRIFT_LOG_LEVEL: 'warn',
    IDRIFT_HTTP_HOST: '127.0.0.1',
    IDRIFT_HTTP_PORT: String(29_500 + Math.floor(Math.random() * 400)),
  });
  const input = `bench-${runId}.in`;
  const appId = `bench-${runId}`;
  const config = loadConfig(appEnv(appId, input));
  await setUpTopics(kafka, config, { inputPartitions: PARTITIONS, replicationFactor: 1 }, [
    { topic: `${input}.passthrough`, numPartitions: PARTITIONS, replicationFactor: 1 },
  ]);

  log(`simulating and encoding ${EVENTS.toLocaleString('en')} events`);
  const workload = await buildWorkload(serde, input);
  log(`preloading ${workload.preload.length} events for ${workload.users} users into ${input}`);
  const preloadS = await produceAll(kafka, input, workload.preload);
  const inputBytes = workload.preload.reduce((n, r) => n + r.key.length + r.value.length, 0);
  log(`preloaded in ${preloadS.toFixed(1)} s (${Math.round(workload.preload.length / preloadS)} events/s)`);

  log('Kafka ConsumerPerformance (Java, read_committed)');
  const java = await javaConsumerPerf(brokers, input, EVENTS);
  log(`java consumer: ${java.eventsPerSec} events/s (${java.fetchEventsPerSec} excluding the group join)`);

  /** The kafkajs passthrough over the first EVENTS input records, on a consumer group of its own. */
  const runPassthrough = async (name: string, groupId: string): Promise<RunMeasure> => {
    const child = spawnNode(name, [], ['test/bench/lib/passthrough.ts'], {
      BENCH_BROKERS: brokers,
      BENCH_TOPIC: input,
      BENCH_OUT_TOPIC: `${input}.passthrough`,
      BENCH_GROUP: groupId,
      BENCH_CHUNK: String(CHUNK),
    });
    const measured = await runUntilCaughtUp(kafka, child, groupId, input, EVENTS, 900_000);
    await stopChild(child);
    log(`${name}: ${measured.eventsPerSec} events/s, ${measured.cpuCores.toFixed(2)} cores`);
    return measured;
  };

  log('kafkajs passthrough (transactional, one producer per partition)');
  const passthrough = await runPassthrough('passthrough', `bench-pass-${runId}`);

  log('interest-drift processor');
  const procEnv = appEnv(appId, input);
  const latencyProfDir = join(WORK_DIR, 'cpu-profile-latency');
  const procSpawnWall = Date.now();
  const proc = spawnNode(
    'processor',
    [
      '--max-old-space-size=8192',
      ...SERVICE_NODE_FLAGS,
      ...(PROFILE_LATENCY ? ['--cpu-prof', `--cpu-prof-dir=${latencyProfDir}`] : []),
      ...PROCESSOR_NODE_ARGS,
    ],
    [PROCESSOR_MAIN, 'run'],
    procEnv,
  );
  const ours = await runUntilCaughtUp(kafka, proc, appId, input, EVENTS, 3_600_000);
  log(
    `processor: ${ours.eventsPerSec} events/s, ${ours.cpuCores.toFixed(2)} cores, peak RSS ${ours.peakRssMb} MB`,
  );

  // Changelog written for the throughput run: every record (superseded ones too, before any
  // compaction), after the flush timer has written what was still dirty.
  await sleep(config.processing.flushIntervalMs + 2_000);
  // The topic is compacted while the run writes it (64 MB segments, dirty ratio 0.1), so reading it
  // back can miss superseded records; the processor's own counter says how many it wrote.
  const metricsUrl = `http://127.0.0.1:${procEnv.IDRIFT_HTTP_PORT}/metrics`;
  const sums = metricSums(await fetch(metricsUrl).then((r) => r.text()));
  const written = sums.get('idrift_changelog_records_total');
  // Key and value bytes of every changelog record the processor wrote, checkpoints included: the
  // same measure as topicBytes. A processor older than that counter: estimated from the topic's
  // mean record size.
  const writtenExactBytes = sums.get('idrift_changelog_bytes_total');
  const changelog = await topicBytes(kafka, config.topics.userStateChangelog);
  const writtenRecords = written ?? changelog.records;
  const writtenBytes =
    writtenExactBytes ?? (changelog.bytes * writtenRecords) / Math.max(1, changelog.records);
  log(
    `changelog: ${changelog.records} records, ${(changelog.bytes / 1e6).toFixed(1)} MB = ${(changelog.bytes / inputBytes).toFixed(2)} × the input on the topic; ${writtenRecords} state records written, ${(writtenBytes / 1e6).toFixed(1)} MB = ${writtenExactBytes === undefined ? 'about ' : ''}${(writtenBytes / inputBytes).toFixed(2)} × the input`,
  );

  // The issue's operating point, or a fixed rate to compare two builds at the same load.
  const rate = LATENCY_RATE > 0 ? LATENCY_RATE : ours.eventsPerSec / 2;
  log(`latency at ${Math.round(rate)} events/s for ${LATENCY_S} s`);
  // This process holds the workload (hundreds of MB): collect it now rather than in the middle of
  // the phase. In one run (2026-11-27) this process took 0.77 of the machine's 2 cores for a second
  // mid-phase, most likely collecting it, and the processor committed nothing in that second.
  await collectOwnGarbage(500);
  const latencyStartWall = Date.now();
  const latency = await measureLatency(kafka, input, appId, workload.later, rate, LATENCY_S, metricsUrl, {
    processor: proc.proc.pid ?? null,
    broker: stackPid('broker'),
  });
  log(`latency p50 ${latency.p50Ms} ms, p95 ${latency.p95Ms} ms, p99 ${latency.p99Ms} ms`);
  const latencyEndWall = Date.now();
  const peakRssAfterLatencyMb = Math.round(procPeakRssMb(proc.proc.pid as number));
  await stopChild(proc);
  const latencyLongTasks = PROFILE_LATENCY
    ? latencyPhaseLongTasks(latencyProfDir, latencyStartWall, latencyEndWall, Date.now())
    : undefined;
  const latencyGc = TRACE_GC
    ? await latencyPhaseGc(join(WORK_DIR, 'processor.log'), procSpawnWall, latencyStartWall, latencyEndWall)
    : undefined;

  // The transport's own latency at the same rate, on the same machine: the kafkajs passthrough
  // (same exactly-once settings, no work) on a topic of its own, fed the same records the same
  // way. Its producers are warmed by one record per partition first, as ours were by the
  // throughput run.
  log(`kafkajs passthrough latency at ${Math.round(rate)} events/s for ${LATENCY_S} s (reference)`);
  const refTopic = `${input}.latency-ref`;
  await setUpTopics(kafka, config, { inputPartitions: PARTITIONS, replicationFactor: 1 }, [
    { topic: refTopic, numPartitions: PARTITIONS, replicationFactor: 1 },
    { topic: `${refTopic}.out`, numPartitions: PARTITIONS, replicationFactor: 1 },
  ]);
  const refGroup = `bench-latref-${runId}`;
  const refChild = spawnNode('passthrough-latency', [], ['test/bench/lib/passthrough.ts'], {
    BENCH_BROKERS: brokers,
    BENCH_TOPIC: refTopic,
    BENCH_OUT_TOPIC: `${refTopic}.out`,
    BENCH_GROUP: refGroup,
    BENCH_CHUNK: String(CHUNK),
  });
  await produceAll(
    kafka,
    refTopic,
    Array.from({ length: PARTITIONS }, (_, partition) => ({
      ...(workload.later[0] as { key: string; value: Buffer }),
      partition,
    })),
  );
  await waitCaughtUp(kafka, refGroup, refTopic, 120_000);
  await collectOwnGarbage(500);
  const latencyRef = await measureLatency(kafka, refTopic, refGroup, workload.later, rate, LATENCY_S, null, {
    processor: refChild.proc.pid ?? null,
    broker: stackPid('broker'),
  });
  await stopChild(refChild);
  log(
    `passthrough latency p50 ${latencyRef.p50Ms} ms, p95 ${latencyRef.p95Ms} ms, p99 ${latencyRef.p99Ms} ms`,
  );

  // The reference again, after our runs: on this shared machine one passthrough run varied from
  // 59,338 to 114,356 events/s on 2026-11-26 (the run after ours being the faster), so the ratio
  // uses the mean of a run before ours and one after it.
  log('kafkajs passthrough again (after ours)');
  const passthroughAfter = await runPassthrough('passthrough-2', `bench-pass2-${runId}`);
  const passthroughMean = (passthrough.eventsPerSec + passthroughAfter.eventsPerSec) / 2;

  log(`restore: re-keying the changelog states to ${RESTORE_USERS.toLocaleString('en')} users`);
  const states = await changelogStates(kafka, serde, config.topics.userStateChangelog);
  const restoreTopic = `bench-${runId}.restore-changelog`;
  await setUpTopics(kafka, config, { inputPartitions: PARTITIONS, replicationFactor: 1 }, [
    {
      topic: restoreTopic,
      numPartitions: PARTITIONS,
      replicationFactor: 1,
      configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
    },
  ]);
  // The user id is the key; a state value does not repeat it, so values are reused as they are.
  const restoreRecords = [...restoreChangelog(states, RESTORE_USERS, PARTITIONS)];
  const changelogBytes = restoreRecords.reduce((n, r) => n + r.value.length, 0);
  const restoreProduceS = await produceAll(kafka, restoreTopic, restoreRecords);
  restoreRecords.length = 0;
  // This process just dropped the 1,000,000 records it produced (about 1 GB): collect them now,
  // or V8 does it concurrently with the probe and takes a core of this 2-core machine from it.
  const collected = await collectOwnGarbage(1_000);
  log(
    `changelog of ${RESTORE_USERS} users (${(changelogBytes / 1e6).toFixed(0)} MB) written in ${restoreProduceS.toFixed(0)} s; restoring${collected ? '' : ' (run with --expose-gc to collect this process first)'}`,
  );
  const runProbe = async (
    name: string,
    nodeArgs: string[],
  ): Promise<RestoreProbeResult & { cores: WindowCores & { probe: number } }> => {
    const probe = spawnNode(
      name,
      ['--expose-gc', '--max-old-space-size=12288', ...nodeArgs],
      ['test/bench/lib/restore-probe.ts'],
      {
        BENCH_BROKERS: brokers,
        BENCH_REGISTRY: cluster.registryUrl,
        BENCH_TOPIC: restoreTopic,
        BENCH_PARTITIONS: String(PARTITIONS),
      },
    );
    let probeOut = '';
    probe.proc.stdout?.on('data', (d: Buffer) => (probeOut += d.toString()));
    const coresBetween = sampleCpuUntil(probe.exited);
    if ((await probe.exited) !== 0)
      throw new Error(`restore probe failed; see ${join(WORK_DIR, `${name}.log`)}`);
    const result = JSON.parse(probeOut.trim().split('\n').pop() ?? '{}') as RestoreProbeResult;
    const during = (await coresBetween)(result.startedAtMs, result.startedAtMs + result.wallMs);
    const probeCores = Number(((result.cpuUserMs + result.cpuSystemMs) / result.wallMs).toFixed(2));
    return { ...result, cores: { probe: probeCores, ...during } };
  };
  const restore = await runProbe('restore-probe', []);
  log(
    `restore: ${restore.users} users in ${restore.wallMs} ms (${restore.usersPerSec} users/s), ${restore.bytesPerUser} B/user; cores during it: probe ${restore.cores.probe} (${restore.cpuSystemMs} ms system), broker ${restore.cores.broker}, bench ${restore.cores.bench}, machine ${restore.cores.machine}, steal ${restore.cores.steal}`,
  );
  let restoreProfile: (ProfileSummary & { wallMs: number }) | undefined;
  if (PROFILE_RESTORE) {
    const restoreProfDir = join(WORK_DIR, 'cpu-profile-restore');
    rmSync(restoreProfDir, { recursive: true, force: true });
    const profiled = await runProbe('restore-probe-profiled', [
      '--cpu-prof',
      `--cpu-prof-dir=${restoreProfDir}`,
    ]);
    restoreProfile = {
      wallMs: profiled.wallMs,
      ...summariseProfiles(profileFiles(restoreProfDir), ROOT),
    };
    log(
      `restore profile: ${profiled.usersPerSec} users/s sampled; top: ${restoreProfile.topFunctions
        .slice(0, 5)
        .map((f) => `${f.name} ${f.percent.toFixed(1)}%`)
        .join(', ')}`,
    );
  }

  const profile =
    PROFILE_S > 0 ? await profileHotPath(kafka, input, appEnv(`bench-prof-${runId}`, input)) : undefined;

  const result = {
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '?', node: process.version },
    workload: {
      events: EVENTS,
      users: workload.users,
      partitions: PARTITIONS,
      inputMb: Number((inputBytes / 1e6).toFixed(1)),
      preloadSeconds: preloadS,
      chunkRecords: CHUNK,
      processor: PROCESSOR_MAIN,
      nodeFlags: [...SERVICE_NODE_FLAGS, ...PROCESSOR_NODE_ARGS],
    },
    throughput: {
      ours,
      kafkajsPassthrough: passthrough,
      kafkajsPassthroughAfter: passthroughAfter,
      javaConsumerPerformance: java,
      /** Against the mean of the two passthrough runs. */
      ratioToPassthrough: ours.eventsPerSec / passthroughMean,
      ratioToJavaConsumer: ours.eventsPerSec / java.eventsPerSec,
      peakRssAfterLatencyMb,
    },
    changelog: {
      records: changelog.records,
      mb: Number((changelog.bytes / 1e6).toFixed(1)),
      ratioToInput: changelog.bytes / inputBytes,
      writtenRecords,
      writtenRatioToInput: writtenBytes / inputBytes,
      ...(writtenExactBytes === undefined ? {} : { writtenMb: Number((writtenBytes / 1e6).toFixed(1)) }),
      flushIntervalMs: config.processing.flushIntervalMs,
    },
    latency,
    latencyReference: latencyRef,
    latencyLongTasks,
    latencyGc,
    restore: {
      ...restore,
      changelogMb: Math.round(changelogBytes / 1e6),
      distinctTemplateStates: states.length,
    },
    restoreProfile,
    profile,
    targets: {
      ratioToPassthrough: '≥ 0.5',
      p99LatencyMs: '≤ 250',
      bytesPerUser: '≤ 1536',
      restoreUsersPerSec: '≥ 100000',
      changelogToInput: '≤ 2',
    },
  };
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(join(OUT_DIR, 'e2e.json'), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(join(OUT_DIR, 'e2e.md'), markdown(result));
  log(`wrote ${join(OUT_DIR, 'e2e.md')}`);
  process.exit(0);
}

type Result = {
  at: string;
  machine: { cpus: number; model: string; node: string };
  workload: {
    events: number;
    users: number;
    partitions: number;
    inputMb: number;
    preloadSeconds: number;
    /** The processor's entry point: dist/src/main.js (compiled) or src/main.ts (tsx); absent before 2026-11-27 (tsx). */
    processor?: string;
    /** node flags of the measured processor (the service's, then --processor-node-args); absent before 2026-11-28. */
    nodeFlags?: string[];
  };
  throughput: {
    ours: RunMeasure;
    kafkajsPassthrough: RunMeasure;
    kafkajsPassthroughAfter: RunMeasure;
    javaConsumerPerformance: JavaPerf;
    ratioToPassthrough: number;
    ratioToJavaConsumer: number;
  };
  changelog: {
    /** Read back from the topic after the run: compaction may already have removed superseded records. */
    records: number;
    mb: number;
    ratioToInput: number;
    /**
     * State records the processor counted as written (idrift_changelog_records_total), and the
     * bytes written over the input's: exact when `writtenMb` is set, else estimated as that count at
     * the topic's mean record size; absent before 2026-11-27.
     */
    writtenRecords?: number;
    writtenRatioToInput?: number;
    /** Exact key + value MB written (idrift_changelog_bytes_total); absent: the ratio is estimated. */
    writtenMb?: number;
    flushIntervalMs: number;
  };
  latency: Latency;
  latencyReference?: Latency;
  latencyLongTasks?: LongTask[];
  latencyGc?: LatencyGc;
  restore: RestoreProbeResult & {
    changelogMb: number;
    distinctTemplateStates: number;
    /** Mean CPU cores used over the restore, by process (absent in runs before 2026-11-28). */
    cores?: WindowCores & { probe: number };
  };
  restoreProfile?: ProfileSummary & { wallMs: number };
  /** Absent with --profile-seconds 0. */
  profile?: ReturnType<typeof summariseProfiles> & { seconds: number; eventsProcessed: number };
};

/** `gcPerSecond` (from --trace-gc) adds a column: the main thread's GC ms, marking steps included. */
function traceTable(
  trace: readonly TraceRow[],
  processorMetrics: boolean,
  gcPerSecond?: readonly number[],
): string[] {
  const c = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '');
  const cpu = (x: TraceRow): string =>
    `${c(x.processorCores)} | ${c(x.brokerCores)} | ${c(x.benchCores)} | ${c(x.machineCores)} | ${c(x.stealCores)}`;
  const cpuHead = 'CPU processor | CPU broker | CPU bench | CPU machine | steal';
  if (!processorMetrics) {
    return [
      `| s | sent | ${cpuHead} |`,
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...trace.map((x) => `| ${x.second} | ${x.sent} | ${cpu(x)} |`),
    ];
  }
  const gc = gcPerSecond
    ? {
        head: ' GC main ms (trace) |',
        rule: ' ---: |',
        cell: (x: TraceRow): string => ` ${(gcPerSecond[x.second - 1] ?? NaN).toFixed(0)} |`,
      }
    : { head: '', rule: '', cell: (): string => '' };
  return [
    `| s | sent | processed | txns | txn ms | chunk ms | chunk records | lag | loop p99 ms | GC ms |${gc.head} flushes | changelog records | ${cpuHead} |`,
    `| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |${gc.rule} ---: | ---: | ---: | ---: | ---: | ---: | ---: |`,
    ...trace.map(
      (x) =>
        `| ${x.second} | ${x.sent} | ${x.processed} | ${x.transactions} | ${x.commitMs.toFixed(0)} | ${x.chunkMs.toFixed(0)} | ${x.chunkRecords.toFixed(0)} | ${x.lag} | ${x.eventLoopP99Ms.toFixed(0)} | ${x.gcMs.toFixed(0)} |${gc.cell(x)} ${x.flushes} | ${x.changelogRecords} | ${cpu(x)} |`,
    ),
  ];
}

function gcParagraph(g: GcWindowSummary): string {
  const n = (x: number): string => Math.round(x).toLocaleString('en');
  return `Garbage collection on the processor's main thread in the phase (--processor-node-args=--trace-gc; "GC ms" above counts pauses only): ${g.markCompacts} mark-compacts, with ${n(g.markingStepsMs)} ms of incremental marking steps (the largest collection's ${n(g.maxMarkingStepsMs)} ms) and ${n(g.markCompactPauseMs)} ms of pauses; ${g.scavenges} scavenges, ${n(g.scavengePauseMs)} ms of pauses (largest ${n(g.maxScavengePauseMs)} ms). In all ${n(g.markingStepsMs + g.markCompactPauseMs + g.scavengePauseMs)} ms of ${g.seconds.toFixed(0)} s = ${((100 * (g.markingStepsMs + g.markCompactPauseMs + g.scavengePauseMs)) / (1000 * g.seconds)).toFixed(1)} % of the main thread. Live heap after the mark-compacts ${g.liveMinMb.toFixed(0)}–${g.liveMaxMb.toFixed(0)} MB; the heap grew ${g.heapGrowthMbPerS.toFixed(1)} MB/s between them (what survived the scavenges). The "GC main ms (trace)" column spreads each mark-compact's marking steps evenly over its marking wall time.`;
}

/** A profile's busy share, self time by area and top functions, after `intro`. */
function profileSection(p: ProfileSummary, intro: string): string[] {
  return [
    p.threads.length > 1
      ? `${intro} Busy seconds by thread: ${p.threads
          .map(
            (t, i) =>
              `${i === 0 ? 'main' : `worker ${i}`} ${(t.busyMs / 1000).toFixed(1)} of ${(t.sampledMs / 1000).toFixed(1)}`,
          )
          .join(
            ', ',
          )} sampled (the rest idle: the main thread waiting on I/O, a worker on work). Shares below are of the busy time of all threads together. Self time by area:`
      : `${intro} ${(p.busyMs / 1000).toFixed(1)} of ${(p.sampledMs / 1000).toFixed(1)} sampled seconds were busy (the rest idle, waiting on I/O); shares below are of the busy time. Self time by area:`,
    '',
    '| area | self time % |',
    '| --- | ---: |',
    ...p.byArea.slice(0, 12).map((a) => `| ${a.area} | ${a.percent.toFixed(1)} |`),
    '',
    'Top functions by self time:',
    '',
    '| function | where | self time % |',
    '| --- | --- | ---: |',
    ...p.topFunctions.slice(0, 15).map((f) => `| ${f.name} | ${f.where} | ${f.percent.toFixed(1)} |`),
    '',
  ];
}

/** A latency quantile, interpolated between whole milliseconds, shown whole. */
function ms(x: number): string {
  return `${Math.round(x).toLocaleString('en')} ms`;
}

function markdown(r: Result): string {
  const t = r.throughput;
  const writtenWhen = `Each changed state is written ${r.changelog.flushIntervalMs} ms after its first unwritten change (IDRIFT_STATE_FLUSH_INTERVAL_MS), a few per transaction, as version-4 values (schemas/user-state-v4.md). An idle re-score that raises no churn level is not a change (resumedChurnTimerMs in src/core/user-state.ts).`;
  const row = (name: string, m: RunMeasure): string =>
    `| ${name} | ${m.eventsPerSec.toLocaleString('en')} | ${m.cpuCores.toFixed(2)} | ${m.peakRssMb} | ${m.startupS.toFixed(1)} | ${m.steadyS.toFixed(1)} |`;
  return [
    '# End-to-end benchmark',
    '',
    `Run ${r.at} on ${r.machine.cpus} × ${r.machine.model}, node ${r.machine.node}; broker, registry, load generator and the measured process share these cores.`,
    `Workload: ${r.workload.events.toLocaleString('en')} simulated events (${r.workload.inputMb} MB) of ${r.workload.users.toLocaleString('en')} users on ${r.workload.partitions} partitions, exactly-once (read_committed, one transactional producer per partition, ${CHUNK} records per transaction at most). The processor ran ${r.workload.processor === COMPILED_MAIN ? `compiled (${COMPILED_MAIN}), as the image runs it` : 'from its TypeScript sources through tsx'}${r.workload.nodeFlags ? `, with the service's V8 flags (${r.workload.nodeFlags.join(' ')})` : ''}.`,
    '',
    '## Throughput (same run, same topic)',
    '',
    '| consumer | events/s | CPU cores | peak RSS MB | start-up s | steady s |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    row('interest-drift processor', t.ours),
    row('kafkajs passthrough, same transactional settings (before ours)', t.kafkajsPassthrough),
    row('kafkajs passthrough again (after ours)', t.kafkajsPassthroughAfter),
    `| Kafka ConsumerPerformance (Java, read_committed, consume only) | ${t.javaConsumerPerformance.eventsPerSec.toLocaleString('en')} (${t.javaConsumerPerformance.fetchEventsPerSec.toLocaleString('en')} without the join) | | | | |`,
    '',
    `Ours / kafkajs passthrough (mean of its two runs): **${t.ratioToPassthrough.toFixed(2)}** (target ≥ 0.5). Ours / Java consumer: ${t.ratioToJavaConsumer.toFixed(3)}.`,
    '',
    '## Changelog written',
    '',
    r.changelog.writtenRecords !== undefined && r.changelog.writtenRatioToInput !== undefined
      ? `For the throughput run: the processor wrote ${r.changelog.writtenRecords.toLocaleString('en')} state records (its idrift_changelog_records_total), ${r.changelog.writtenMb !== undefined ? `${r.changelog.writtenMb} MB of keys and values with the checkpoints (idrift_changelog_bytes_total) = **${r.changelog.writtenRatioToInput.toFixed(2)} ×**` : `about **${r.changelog.writtenRatioToInput.toFixed(2)} ×**`} the input's ${r.workload.inputMb} MB${r.changelog.writtenMb !== undefined ? '' : " at the topic's mean record size"} (target ≤ 2). Read back after the run, the topic held ${r.changelog.records.toLocaleString('en')} of them, ${r.changelog.mb} MB = ${r.changelog.ratioToInput.toFixed(2)} × the input: the log cleaner compacts the changelog while it is written, so the read-back count alone undercounts. ${writtenWhen}`
      : `For the throughput run: ${r.changelog.records.toLocaleString('en')} records, ${r.changelog.mb} MB (keys + values, read back after the run; compaction may already have removed some) = **${r.changelog.ratioToInput.toFixed(2)} ×** the input's ${r.workload.inputMb} MB (target ≤ 2). ${writtenWhen}`,
    '',
    r.latency.fixedRate
      ? `## Latency at a fixed ${r.latency.targetRate.toLocaleString('en')} events/s (--latency-rate; not the issue's 50 % operating point)`
      : '## Latency at 50 % of our measured maximum',
    '',
    `${r.latency.records.toLocaleString('en')} records at ${r.latency.achievedRate.toLocaleString('en')} events/s (target ${r.latency.targetRate.toLocaleString('en')}); record timestamp → committed (outputs visible to read_committed), 10 ms polling; ${r.latency.unobserved} unobserved.`,
    '',
    '| consumer | p50 | p95 | p99 | max |',
    '| --- | ---: | ---: | ---: | ---: |',
    `| interest-drift processor | ${ms(r.latency.p50Ms)} | ${ms(r.latency.p95Ms)} | **${ms(r.latency.p99Ms)}** | ${ms(r.latency.maxMs)} |`,
    ...(r.latencyReference
      ? [
          `| kafkajs passthrough, same settings and rate, after ours (${r.latencyReference.records.toLocaleString('en')} records at ${r.latencyReference.achievedRate.toLocaleString('en')} events/s) | ${ms(r.latencyReference.p50Ms)} | ${ms(r.latencyReference.p95Ms)} | ${ms(r.latencyReference.p99Ms)} | ${ms(r.latencyReference.maxMs)} |`,
        ]
      : []),
    '',
    'Target p99 ≤ 250 ms. The passthrough row is what the transport alone gives at this rate on this machine (same exactly-once settings, no work between consume and produce).',
    '',
    "Per second of the phase (from the processor's /metrics): events sent and processed, transactions, mean transaction and chunk times, mean chunk size, lag at the last batch, event-loop delay p99, garbage-collection pause time, transactions that wrote user states (flushes) and the changelog records they wrote; then CPU cores used in the second by the processor, the broker, the bench process (load generator and offset poller) and the whole machine, and cores stolen by the hypervisor (/proc/stat).",
    '',
    ...traceTable(r.latency.trace, true, r.latencyGc?.perSecondMs),
    ...(r.latencyGc ? ['', gcParagraph(r.latencyGc.summary)] : []),
    ...(r.latencyReference
      ? [
          '',
          'The passthrough reference, per second (its CPU in the processor column):',
          '',
          ...traceTable(r.latencyReference.trace, false),
        ]
      : []),
    ...(r.latencyLongTasks
      ? [
          '',
          `Long tasks of the processor's main thread in the phase (--profile-latency; ≥ 100 ms with the event loop never waiting on I/O; the processor ran under the sampler): ${r.latencyLongTasks.length}, ${r.latencyLongTasks.reduce((n, t) => n + t.ms, 0).toLocaleString('en')} ms in all. Each with the src/ functions (and GC) on its stack for longest, inclusive ms:`,
          '',
          '| at s | ms | on the stack |',
          '| ---: | ---: | --- |',
          ...r.latencyLongTasks.map(
            (t) =>
              `| ${t.atS} | ${t.ms} | ${t.top.map((f) => `${f.name} (${f.where}) ${f.ms}`).join('; ')} |`,
          ),
        ]
      : []),
    '',
    `## Restore and memory at ${r.restore.users.toLocaleString('en')} users`,
    '',
    `The processor's ${r.restore.distinctTemplateStates.toLocaleString('en')} changelog states re-keyed to ${r.restore.users.toLocaleString('en')} users (${r.restore.changelogMb} MB changelog), restored as the processor does (one restore per partition, all at once).`,
    '',
    '| users | restore s | users/s | heap B/user | off-heap B/user | total B/user |',
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${r.restore.users.toLocaleString('en')} | ${(r.restore.wallMs / 1000).toFixed(1)} | **${r.restore.usersPerSec.toLocaleString('en')}** | ${r.restore.heapBytesPerUser} | ${r.restore.offHeapBytesPerUser} | **${r.restore.bytesPerUser}** |`,
    '',
    ...(r.restore.cores
      ? [
          `CPU cores used during the restore (mean over its ${(r.restore.wallMs / 1000).toFixed(1)} s): the probe ${r.restore.cores.probe} (all its threads; ${(r.restore.cpuSystemMs / 1000).toFixed(1)} s of it system time), the broker ${r.restore.cores.broker}, the bench process ${r.restore.cores.bench}, the whole machine ${r.restore.cores.machine}; stolen by the hypervisor ${r.restore.cores.steal}.`,
          '',
        ]
      : []),
    'Targets: ≥ 100,000 users/s; ≤ 1,536 B per user at the real state mix (issue 14).',
    '',
    ...(r.restoreProfile
      ? profileSection(
          r.restoreProfile,
          `The same restore again under --cpu-prof (--profile-restore), ${(r.restoreProfile.wallMs / 1000).toFixed(1)} s with the sampler on; whole process, ${r.restoreProfile.files} threads profiled.`,
        )
      : []),
    '## Profile of the hot path',
    '',
    ...(r.profile
      ? profileSection(
          r.profile,
          `The processor with --cpu-prof for ${r.profile.seconds} s on the same input (${r.profile.eventsProcessed.toLocaleString('en')} events committed, start-up included; ${r.profile.files} threads profiled), with the service's V8 flags.`,
        )
      : ['Not profiled in this run (--profile-seconds 0).']),
  ].join('\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
