/**
 * What every system-test scenario shares: its profile and result row, the set-up of a fresh
 * application (topics, seeded workload), processor processes, paced input, and the final
 * verification against the fault-free reference.
 */
import { join } from 'node:path';
import type { Config } from '../../../src/shared/config';
import { loadConfig } from '../../../src/shared/config';
import { waitCaughtUp } from '../../../src/kafka/caught-up';
import { createRegistry } from '../../../src/kafka/clients';
import { assertReadComplete, readToEnd } from '../../../src/kafka/read-to-end';
import { AvroSerde } from '../../../src/kafka/serde';
import { setUpTopics } from '../../../src/kafka/topics';
import { appTopicsEnv } from '../../support/app-env';
import type { Cluster } from './cluster';
import { ROOT } from './cluster';
import type { DriverStats } from './driver';
import { drive } from './driver';
import { ProcessorProcess } from './processor-process';
import type { Verdict } from './verify';
import { verify } from './verify';
import type { Workload } from './workload';
import { buildWorkload } from './workload';

export interface Profile {
  readonly users: number;
  readonly days: number;
  readonly ratePerSec: number;
  readonly kills: number;
}

export const PROFILES: Record<string, Profile> = {
  full: { users: 5000, days: 2, ratePerSec: 4000, kills: 10 },
  // Same guarantees, smaller input: for a quick local check.
  ci: { users: 1500, days: 2, ratePerSec: 3000, kills: 10 },
  // Overlapping faults for --minutes of paced input; days follow from the rate (lib/chaos.ts).
  chaos: { users: 6000, days: 0, ratePerSec: 300, kills: 0 },
};

export interface Row {
  scenario: string;
  events: number;
  faults: string;
  duplicates: number | string;
  missing: number | string;
  mismatches: number | string;
  recovery: string;
  pass: boolean;
  notes: string[];
}

export const SESSION_TIMEOUT_MS = 10_000;
// A runner beside another (the soak beside the system tests) takes its own log folder and HTTP ports.
export const LOG_DIR = join(ROOT, process.env.IDRIFT_SYSTEM_LOG_DIR ?? join('.cache', 'system-logs'));
export const RESULTS_DIR = join(ROOT, 'test', 'system', 'results');
let nextPort = Number(process.env.IDRIFT_SYSTEM_HTTP_PORT_BASE ?? '19400');
let seedCounter = 100;
export const allProcesses: ProcessorProcess[] = [];
export const allPlanted: string[] = [];
export const deadLetterHeaderValues: string[] = [];
export const metricTexts: string[] = [];

export interface Setup {
  readonly name: string;
  readonly config: Config;
  readonly env: Record<string, string>;
  readonly workload: Workload;
  readonly serde: AvroSerde;
}

export async function setup(
  cluster: Cluster,
  profile: Profile,
  name: string,
  extra: {
    poisonRate?: number;
    erase?: number;
    seed?: number;
    days?: number;
    /** Extra processor settings (the reference is computed with them too). */
    env?: Record<string, string>;
  } = {},
): Promise<Setup> {
  const appId = `sys-${name}-${Date.now().toString(36)}`;
  const env: Record<string, string> = {
    IDRIFT_KAFKA_BROKERS: cluster.brokers.join(','),
    IDRIFT_SCHEMA_REGISTRY_URL: cluster.registryUrl,
    ...appTopicsEnv(appId),
    IDRIFT_INPUT_PARTITIONS: '6',
    IDRIFT_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
    IDRIFT_HEARTBEAT_INTERVAL_MS: '1000',
    IDRIFT_TRANSACTION_TIMEOUT_MS: '30000',
    IDRIFT_EXECUTION_PROVIDER: 'cpu',
    IDRIFT_LOG_LEVEL: 'info',
    IDRIFT_HTTP_HOST: '127.0.0.1',
    ...extra.env,
  };
  const config = loadConfig(env);
  await setUpTopics(cluster.kafka, config, { inputPartitions: 6, replicationFactor: 1 });
  const serde = new AvroSerde(createRegistry({ url: cluster.registryUrl }));
  const seed = extra.seed ?? seedCounter++;
  const { env: _env, ...workloadExtra } = extra;
  const workload = await buildWorkload(serde, config.topics.input, {
    users: profile.users,
    days: profile.days,
    ...workloadExtra,
    seed,
  });
  allPlanted.push(...workload.planted);
  return { name, config, env, workload, serde };
}

export function processor(s: Setup, i: number, root?: string): ProcessorProcess {
  const p = new ProcessorProcess(
    `${s.name}-${i}`,
    s.env,
    join(LOG_DIR, `${s.name}-${i}.log`),
    nextPort++,
    root,
  );
  allProcesses.push(p);
  return p;
}

export async function finish(cluster: Cluster, s: Setup, procs: ProcessorProcess[]): Promise<Verdict> {
  await waitCaughtUp(cluster.kafka, s.config.appId, s.config.topics.input, 300_000);
  for (const p of procs) if (p.running) metricTexts.push(await p.metrics());
  for (const p of procs) if (p.running) await p.stop();
  const v = await verify(cluster.kafka, s.serde, s.config);
  for (const d of v.deadLetters.values()) deadLetterHeaderValues.push(...Object.values(d.headers));
  return v;
}

export function rowOf(
  s: Setup,
  v: Verdict,
  faults: string,
  recovery: string,
  extraPass: boolean,
  notes: string[],
): Row {
  const pass =
    extraPass &&
    v.duplicates === 0 &&
    v.missing === 0 &&
    v.mismatches === 0 &&
    v.hangingTransactions.length === 0;
  const detail = Object.entries(v.topics)
    .map(([t, c]) => `${t} ${c.actual}/${c.expected}`)
    .join(', ');
  return {
    scenario: s.name,
    events: s.workload.records.length,
    faults,
    duplicates: v.duplicates,
    missing: v.missing,
    mismatches: v.mismatches,
    recovery,
    pass,
    notes: [
      ...notes,
      `records read back (actual/expected): ${detail}`,
      `hanging transactions: ${v.hangingTransactions.length}`,
      ...v.notes,
    ],
  };
}

/** Records of aborted (or still open) transactions on a topic: read_uncommitted minus read_committed. */
export async function abortedRecords(cluster: Cluster, topic: string): Promise<number> {
  const count = async (readUncommitted: boolean): Promise<number> => {
    let n = 0;
    const res = await readToEnd(cluster.kafka, {
      topic,
      groupId: `count.${Date.now()}.${Math.random()}`,
      timeoutMs: 120_000,
      readUncommitted,
      onBatch: (_p, m) => {
        n += m.length;
      },
    });
    assertReadComplete(res, `topic ${topic}`);
    return n;
  };
  return (await count(true)) - (await count(false));
}

export const fmtS = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** A production rate that makes the input last at least `seconds`, so faults land mid-stream. */
export function rateFor(s: Setup, profile: Profile, seconds: number): number {
  return Math.min(profile.ratePerSec, Math.ceil(s.workload.records.length / seconds));
}

/** Starts producing the scenario's whole input paced over about `seconds`; `stats` fills in as it goes. */
export function driveOver(
  cluster: Cluster,
  s: Setup,
  profile: Profile,
  seconds: number,
): { stats: DriverStats; driving: Promise<DriverStats>; rate: number } {
  const stats: DriverStats = { sent: 0, startedAtMs: Date.now(), finishedAtMs: 0 };
  const rate = rateFor(s, profile, seconds);
  return {
    stats,
    rate,
    driving: drive(cluster.kafka, s.config.topics.input, s.workload.records, rate, stats),
  };
}
