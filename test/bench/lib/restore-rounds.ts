/**
 * Restore speed in a minute: writes one synthetic changelog of N users and runs the bench's
 * restore probe (restore-probe.ts: restorePartitions, one call per partition, all at once) on it
 * several times, each in a fresh process, with the probe's and the broker's CPU per round.
 * The values are the 40 upgrade-workload states (about 925 B) in the layout of restore-changelog.ts,
 * over 4 partitions: the layout the processor writes, though not its state mix (make bench-e2e
 * re-keys the processor's own states instead).
 *
 *   test/harness/with-stack.sh npx tsx test/bench/lib/restore-rounds.ts create 1000000   → topic name
 *   test/harness/with-stack.sh npx tsx test/bench/lib/restore-rounds.ts run TOPIC [rounds, default 3]
 */
import { spawnSync } from 'node:child_process';
import { CompressionTypes, Kafka, Partitioners, logLevel } from 'kafkajs';
import { upgradeWorkloadStates } from '../../support/upgrade-workload';
import { encodeState } from '../../../src/state/state-codec';
import { procCpuSeconds, stackPid } from './processes';
import type { ChangelogRecord } from './restore-changelog';
import { restoreChangelog } from './restore-changelog';

const PARTITIONS = 4;

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required (run under test/harness/with-stack.sh)`);
  return v;
}

async function create(users: number): Promise<void> {
  const kafka = new Kafka({
    clientId: 'restore-rounds',
    brokers: env('IDRIFT_KAFKA_BROKERS').split(','),
    logLevel: logLevel.WARN,
  });
  const topic = `restore-rounds-${Date.now().toString(36)}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic, numPartitions: PARTITIONS, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    ],
  });
  await admin.disconnect();
  const states = [...(await upgradeWorkloadStates())].map(([, s]) => encodeState(s));
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  let batch: ChangelogRecord[] = [];
  const send = async (): Promise<void> => {
    await producer.send({ topic, messages: batch, compression: CompressionTypes.None });
    batch = [];
  };
  for (const record of restoreChangelog(states, users, PARTITIONS)) {
    batch.push(record);
    if (batch.length === 1000) await send();
  }
  if (batch.length > 0) await send();
  await producer.disconnect();
  process.stdout.write(`${topic}\n`);
}

function run(topic: string, rounds: number): void {
  for (let r = 0; r < rounds; r++) {
    const broker = stackPid('broker');
    const brokerCpuSeconds = (): number => (broker === null ? NaN : procCpuSeconds(broker));
    const b0 = brokerCpuSeconds();
    const res = spawnSync(
      '/usr/bin/time',
      ['-f', 'probe CPU %U s user, %S s system, %e s wall (start-up included)', process.execPath].concat([
        '--expose-gc',
        '--max-old-space-size=12288',
        '--import',
        'tsx',
        'test/bench/lib/restore-probe.ts',
      ]),
      {
        env: {
          ...process.env,
          BENCH_BROKERS: env('IDRIFT_KAFKA_BROKERS'),
          BENCH_REGISTRY: env('IDRIFT_SCHEMA_REGISTRY_URL'),
          BENCH_TOPIC: topic,
          BENCH_PARTITIONS: String(PARTITIONS),
        },
        encoding: 'utf8',
      },
    );
    if (res.status !== 0) throw new Error(`restore probe failed: ${res.stderr.slice(-2000)}`);
    const p = JSON.parse(res.stdout.trim().split('\n').pop() ?? '{}') as Record<string, number>;
    const cpu = res.stderr.split('\n').find((l) => l.startsWith('probe CPU')) ?? '';
    process.stdout.write(
      `round ${r + 1}: ${p.users} users in ${p.wallMs} ms = ${p.usersPerSec} users/s, ${p.bytesPerUser} B/user; ` +
        `probe CPU in the restore ${p.cpuUserMs} ms user, ${p.cpuSystemMs} ms system, ` +
        `${p.minorFaults} minor faults, ${p.voluntarySwitches}/${p.involuntarySwitches} context switches; ` +
        `broker CPU ${(brokerCpuSeconds() - b0).toFixed(2)} s; ${cpu}\n`,
    );
  }
}

const [command, arg, rounds] = process.argv.slice(2);
if (command === 'create' && Number(arg) > 0) {
  create(Number(arg)).catch((e: unknown) => {
    process.stderr.write(`[restore-rounds] ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
} else if (command === 'run' && arg) {
  run(arg, Number(rounds ?? 3));
} else {
  process.stderr.write('usage: restore-rounds.ts create USERS | run TOPIC [ROUNDS]\n');
  process.exit(2);
}
