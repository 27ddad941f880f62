/**
 * The chaos scenario: up to 4 processor processes on continuous paced input (1 % poison and
 * duplicate event ids mixed in) while a seeded nemesis (nemesis-schedule.ts) overlaps faults.
 * A harness supervisor plays Kubernetes: an instance that should be running and exited on its
 * own is restarted after 1 s, and every such exit is reported. At the end the nemesis heals
 * everything, the input finishes, and the outputs are verified record by record against the
 * fault-free reference like every other scenario.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Cluster } from './cluster';
import { ROOT, stack } from './cluster';
import type { Fault } from './nemesis-schedule';
import { chaosSchedule, isInfraFault, overlappingPairs } from './nemesis-schedule';
import type { ProcessorProcess } from './processor-process';
import type { Profile, Row } from './scenario';
import { SESSION_TIMEOUT_MS, driveOver, finish, fmtS, processor, rowOf, setup } from './scenario';
import { committedTotal, sleep } from '../../support/committed-progress';

const MAX_INSTANCES = 4;
const START_INSTANCES = 3;
/** Simulated events per user per day at the default activity (measured on the full profile). */
const EVENTS_PER_USER_DAY = 15.8;

export interface ChaosOptions {
  readonly seed: number;
  readonly minutes: number;
  /** Paced input rate, events/s. */
  readonly ratePerSec: number;
  readonly users: number;
}

export interface TimelineEntry {
  readonly fault: Fault;
  /** Seconds after the nemesis started, as it really ran. */
  startedAtS: number;
  target: string;
  healedAtS: number | null;
  /** From heal to the next committed progress (or to caught up); null = not seen within 5 min. */
  recoveryMs: number | null;
  note: string;
}

export interface ChaosReport {
  readonly seed: number;
  readonly minutes: number;
  readonly row: Row;
  readonly timeline: TimelineEntry[];
  readonly overlaps: number;
  readonly maxLag: number;
  readonly maxLagAtS: number;
  readonly settleMs: number;
  readonly unexpectedExits: {
    instance: string;
    code: number | null;
    signal: string | null;
    atS: number;
    /** The last line the process wrote before it exited (its reason). */
    lastLine: string;
  }[];
}

async function inputEnd(cluster: Cluster, topic: string): Promise<number> {
  const admin = cluster.kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

function brokerPid(): number {
  const dir = process.env.IDRIFT_STACK_DIR ?? join('.cache', 'stack');
  const file = join(isAbsolute(dir) ? dir : join(ROOT, dir), 'broker.pid');
  return Number(readFileSync(file, 'utf8').trim());
}

export async function chaos(cluster: Cluster, profile: Profile, o: ChaosOptions): Promise<ChaosReport> {
  const seconds = Math.round(o.minutes * 60);
  const days = Math.max(1, Math.round((o.ratePerSec * seconds) / (o.users * EVENTS_PER_USER_DAY)));
  const s = await setup(cluster, { ...profile, users: o.users, days }, `chaos-${o.seed}`, {
    poisonRate: 0.01,
    seed: o.seed,
    days,
  });
  const topic = s.config.topics.input;
  const appId = s.config.appId;
  const procs: ProcessorProcess[] = Array.from({ length: MAX_INSTANCES }, (_, i) => processor(s, i));
  const desired = procs.map((_, i) => i < START_INSTANCES);
  const busy = procs.map(() => false);
  const paused = procs.map(() => false);
  const unexpectedExits: ChaosReport['unexpectedExits'] = [];
  const schedule = chaosSchedule({
    seed: o.seed,
    durationMs: seconds * 1000,
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
  });

  for (const [i, p] of procs.entries()) if (desired[i]) p.start();
  const { stats, driving } = driveOver(cluster, s, { ...profile, ratePerSec: 1e9 }, seconds);
  const t0 = Date.now();
  const atS = (ms = Date.now()): number => Math.round((ms - t0) / 100) / 10;
  let running = true;

  // Supervisor: restarts an instance that should run and exited by itself.
  const supervisor = (async () => {
    while (running) {
      for (const [i, p] of procs.entries()) {
        if (desired[i] && !busy[i] && !p.running) {
          unexpectedExits.push({
            instance: p.name,
            code: p.lastExit?.code ?? null,
            signal: p.lastExit?.signal ?? null,
            atS: atS(p.lastExit?.atMs),
            lastLine: (
              p
                .log()
                .split('\n')
                .filter((l) => l.trim() && !l.startsWith('---'))
                .pop() ?? ''
            ).slice(0, 240),
          });
          await sleep(1_000);
          if (desired[i] && !busy[i] && !p.running) p.start();
        }
      }
      await sleep(1_000);
    }
  })();

  // Lag sampler: input end offsets minus the group's committed offsets.
  /** The input's end offsets and the group's committed offsets, summed over partitions. */
  const progress = async (): Promise<{ end: number; committed: number }> => {
    const [end, committed] = await Promise.all([
      inputEnd(cluster, topic),
      committedTotal(cluster.kafka, appId, topic),
    ]);
    return { end, committed };
  };
  let maxLag = 0;
  let maxLagAtS = 0;
  let lastCommitted = 0;
  const sampler = (async () => {
    while (running) {
      try {
        const { end, committed } = await progress();
        lastCommitted = committed;
        if (end - committed > maxLag) {
          maxLag = end - committed;
          maxLagAtS = atS();
        }
      } catch {
        // broker down or hung: no sample
      }
      await sleep(2_000);
    }
  })();

  /** ms from now until committed progress past what was committed now, or caught up. */
  const recovery = async (): Promise<number | null> => {
    const from = Date.now();
    let before = lastCommitted;
    try {
      before = await committedTotal(cluster.kafka, appId, topic);
    } catch {
      // keep the last sample
    }
    while (Date.now() - from < 300_000) {
      try {
        const { end, committed } = await progress();
        if (committed > before || committed >= end) return Date.now() - from;
      } catch {
        // not yet
      }
      await sleep(250);
    }
    return null;
  };

  const candidates = (): number[] =>
    procs.map((_, i) => i).filter((i) => desired[i] && !busy[i] && !paused[i] && procs[i]?.running);
  const choose = (f: Fault, n: number): number[] => {
    const c = candidates();
    const out: number[] = [];
    let k = Math.floor(f.pick * c.length);
    while (out.length < Math.min(n, c.length)) {
      out.push(c[k % c.length] as number);
      k++;
    }
    return out;
  };
  /** One running instance for fault `f`, marked busy and named in `e`; undefined (noted) when none. */
  const takeOne = (f: Fault, e: TimelineEntry): number | undefined => {
    const [i] = choose(f, 1);
    if (i === undefined) {
      e.note = 'no running instance to hit';
      return undefined;
    }
    e.target = (procs[i] as ProcessorProcess).name;
    busy[i] = true;
    return i;
  };
  const stopWithin = async (p: ProcessorProcess, ms: number): Promise<void> => {
    const stopped = p.stop();
    const t = await Promise.race([stopped.then(() => 'stopped'), sleep(ms).then(() => 'timeout')]);
    if (t === 'timeout') await p.kill9();
  };

  const timeline: TimelineEntry[] = [];
  const runFault = async (f: Fault): Promise<void> => {
    const e: TimelineEntry = {
      fault: f,
      startedAtS: atS(),
      target: '-',
      healedAtS: null,
      recoveryMs: null,
      note: '',
    };
    timeline.push(e);
    switch (f.kind) {
      case 'kill':
      case 'kill-two': {
        const ts = choose(f, f.kind === 'kill' ? 1 : 2);
        if (ts.length === 0) {
          e.note = 'no running instance to hit';
          break;
        }
        e.target = ts.map((i) => procs[i]?.name).join(', ');
        for (const i of ts) busy[i] = true;
        await Promise.all(ts.map((i) => (procs[i] as ProcessorProcess).kill9()));
        await sleep(f.holdMs);
        for (const i of ts) {
          if (desired[i] && !procs[i]?.running) procs[i]?.start();
          busy[i] = false;
        }
        break;
      }
      case 'zombie': {
        const i = takeOne(f, e);
        if (i === undefined) break;
        const p = procs[i] as ProcessorProcess;
        paused[i] = true;
        p.pause();
        await sleep(f.holdMs);
        p.resume();
        paused[i] = false;
        busy[i] = false;
        break;
      }
      case 'scale': {
        const target = f.scaleTo ?? START_INSTANCES;
        const now = desired.filter(Boolean).length;
        e.target = `${now} → ${target}`;
        if (target > now) {
          for (const [i, p] of procs.entries()) {
            if (desired.filter(Boolean).length >= target) break;
            if (desired[i] || busy[i]) continue;
            desired[i] = true;
            if (!p.running) p.start();
          }
        } else {
          const stops: Promise<void>[] = [];
          for (const [i, p] of procs.entries()) {
            if (desired.filter(Boolean).length <= target) break;
            if (!desired[i] || busy[i] || paused[i]) continue;
            desired[i] = false;
            busy[i] = true;
            stops.push(stopWithin(p, 45_000).finally(() => (busy[i] = false)));
          }
          await Promise.all(stops);
        }
        e.note = `now ${desired.filter(Boolean).length} desired`;
        break;
      }
      case 'kill-while-restoring': {
        const i = takeOne(f, e);
        if (i === undefined) break;
        const p = procs[i] as ProcessorProcess;
        await p.kill9();
        const mark = p.log().length;
        p.start();
        const since = Date.now();
        while (Date.now() - since < 30_000 && !/partitions assigned/.test(p.log().slice(mark)))
          await sleep(50);
        await sleep(f.holdMs);
        const tail = p.log().slice(mark);
        await p.kill9();
        const assigned = /"msg":"partitions assigned".*?"partitions":\[([\d,]*)\]/.exec(tail);
        const owned = assigned?.[1] ? assigned[1].split(',').length : 0;
        const ready = tail.split('"msg":"partition ready"').length - 1;
        e.note = !assigned
          ? 'killed before any assignment'
          : `killed with ${ready} of ${owned} assigned partitions restored${ready < owned ? ' (mid-restore)' : ''}`;
        await sleep(1_000);
        if (desired[i]) p.start();
        busy[i] = false;
        break;
      }
      case 'broker-stop':
        e.target = 'broker';
        await stack('kafka-stop');
        await sleep(f.holdMs);
        await stack('kafka-start');
        break;
      case 'broker-pause': {
        e.target = 'broker';
        const pid = brokerPid();
        process.kill(pid, 'SIGSTOP');
        await sleep(f.holdMs);
        process.kill(pid, 'SIGCONT');
        break;
      }
      case 'registry-outage':
        e.target = 'registry';
        await stack('registry-stop');
        await sleep(f.holdMs);
        await stack('registry-start');
        break;
    }
    e.healedAtS = atS();
    e.recoveryMs = await recovery();
  };

  // Processor faults run as scheduled, overlapping; infrastructure faults one after another.
  const tasks: Promise<void>[] = [];
  let infra: Promise<void> = Promise.resolve();
  for (const f of schedule) {
    const wait = t0 + f.atMs - Date.now();
    if (wait > 0) await sleep(wait);
    process.stderr.write(`[chaos] t=${atS()} s fault #${f.id} ${f.kind} (hold ${f.holdMs} ms)\n`);
    if (isInfraFault(f.kind)) {
      infra = infra.then(() => runFault(f));
      tasks.push(infra);
    } else {
      tasks.push(runFault(f));
    }
  }
  await Promise.all(tasks);

  // Heal everything: broker and registry up, no zombie, three instances.
  await stack('kafka-start');
  await stack('registry-start');
  for (const [i, p] of procs.entries()) if (paused[i]) p.resume();
  for (const [i, p] of procs.entries()) {
    desired[i] = i < START_INSTANCES;
    if (desired[i] && !p.running) p.start();
    if (!desired[i] && p.running) await stopWithin(p, 45_000);
  }
  await driving;
  const settleFrom = Date.now();
  running = false;
  await Promise.all([supervisor, sampler]);
  const v = await finish(cluster, s, procs);
  const settleMs = Date.now() - settleFrom;

  const recovered = timeline.filter((e) => e.recoveryMs !== null);
  const worst = Math.max(0, ...recovered.map((e) => e.recoveryMs as number));
  const kinds = new Map<string, number>();
  for (const f of schedule) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
  const row = rowOf(
    s,
    v,
    `seed ${o.seed}, ${o.minutes} min: ${schedule.length} faults (${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ')}), ${overlappingPairs(schedule)} overlapping pairs; input at ${Math.round(s.workload.records.length / seconds)}/s`,
    `every fault recovered: ${recovered.length === timeline.length}; worst ${fmtS(worst)}; max lag ${maxLag}`,
    recovered.length === timeline.length && stats.sent === s.workload.records.length,
    [
      `poison records: ${s.workload.poison.length}, of which duplicate event ids: ${s.workload.duplicates}`,
      `instances that exited by themselves (restarted by the harness supervisor): ${unexpectedExits.length}`,
      `settle (input finished → caught up and verified): ${fmtS(settleMs)}`,
    ],
  );
  return {
    seed: o.seed,
    minutes: o.minutes,
    row,
    timeline,
    overlaps: overlappingPairs(schedule),
    maxLag,
    maxLagAtS,
    settleMs,
    unexpectedExits,
  };
}
