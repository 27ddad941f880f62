/**
 * `make bench` (part): per-event cost against history length, and memory per user, in-process
 * with the real topology (OfflinePipeline → PartitionProcessor → core + the ONNX encoder on CPU).
 * No Kafka: these two numbers do not depend on the transport. Asserts nothing; writes
 * test/bench/results/state.{json,md}.
 *
 *   node --expose-gc --max-old-space-size=12288 --import tsx test/bench/state.bench.ts \
 *     [--users 1000000] [--history-users 600] [--rounds 6]
 *
 * 1. Scaling with history: two groups of simulated users, one with 10 past events and one with
 *    1,000, then the same number of NEW events per user for each group, alternating groups round
 *    by round so machine noise hits both alike. Reports µs per event and the ratio.
 * 2. Memory: states as restore builds them (Avro-decoded from the changelog encoding, so no object
 *    is shared between users), N users in one Map, heap measured after a forced GC. Reported for
 *    a saturated state (full window and dedup list: the per-user bound) and a light one (10 events).
 * 3. Turnover: 10 cohorts of --turnover-users users, each active for one day of event time and
 *    then gone, a cohort starting each day, run with a state TTL of 3 days and without one. Live
 *    users and heap after each cohort: with the TTL they level off once cohorts start expiring.
 */
import { EMPTY_WINDOW, windowLength } from '../../src/core/event-window';
import { EMPTY_HISTOGRAM } from '../../src/core/decayed-histogram';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { coreParams } from '../../src/pipeline/params';
import { loadConfigWithDefaults } from '../../src/shared/config';
import { createLogger } from '../../src/shared/logger';
import { numberFlag, parseScriptArgs, stringFlag } from '../../src/cli/args';
import type { ClickEvent } from '../../src/core/types';
import type { UserState } from '../../src/core/user-state';
import { OfflinePipeline, rowsToEvents } from '../../src/eval/offline-run';
import type { DatasetRow } from '../../src/io/datasets';
import { encodeState } from '../../src/state/state-codec';
import { StateStore } from '../../src/state/state-store';
import { createOnnxEncoder } from '../../src/model/onnx-encoder';
import { simulate } from '../../src/sim/simulator';

const args = parseScriptArgs({
  name: 'state.bench.ts',
  summary: 'State benchmark: per-event cost vs history length, memory per user.',
  usage: ['[--users N] [--history-users N] [--rounds N] [--out DIR]'],
  options: {
    users: {
      type: 'string',
      valueName: 'N',
      description: 'users for the memory measurement (default 1,000,000)',
    },
    'history-users': { type: 'string', valueName: 'N', description: 'users per history group (default 600)' },
    rounds: { type: 'string', valueName: 'N', description: 'rounds of new events (default 6)' },
    'turnover-users': {
      type: 'string',
      valueName: 'N',
      description: 'users per cohort in the turnover run (default 5,000; 0 skips it)',
    },
    out: { type: 'string', valueName: 'DIR', description: 'results folder (default test/bench/results)' },
  },
});
const memoryUsers = numberFlag(args, 'users', 1_000_000);
// 600, not 200: a round of 200 users took ~40 ms per group, and the ratio of one code moved 1.18–1.41
// between runs on this shared machine. More users make each round longer without changing the
// histories (more rounds would: the 10-past group fills up as rounds add events).
const historyUsers = numberFlag(args, 'history-users', 600);
const rounds = numberFlag(args, 'rounds', 6);
const turnoverUsers = numberFlag(args, 'turnover-users', 5_000);
const newPerRound = 10;
const outDir = stringFlag(args, 'out') ?? join(__dirname, 'results');
const gc = (globalThis as { gc?: () => void }).gc;

function log(msg: string): void {
  process.stderr.write(`[bench:state] ${msg}\n`);
}

/** Full collections with pauses, so freed backing stores are really gone before measuring. */
async function settle(): Promise<NodeJS.MemoryUsage> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 100));
  }
  return process.memoryUsage();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** Users with at least `need` simulated events each, their rows in time order. */
function usersWithHistory(seed: number, prefix: string, need: number): DatasetRow[][] {
  // ~16 events per user-day at activity 1; scale activity so 10 days give well over `need`.
  const sim = simulate({
    seed,
    users: Math.ceil(historyUsers * 3),
    days: 10,
    activityScale: Math.max(1, need / 80),
    migrationRate: 0,
    quietRate: 0,
    userPrefix: prefix,
  });
  const byUser = new Map<string, DatasetRow[]>();
  for (const r of sim.rows) {
    const list = byUser.get(r.userId) ?? [];
    list.push(r);
    byUser.set(r.userId, list);
  }
  const out = [...byUser.values()].filter((rs) => rs.length >= need);
  if (out.length < historyUsers) throw new Error(`only ${out.length} users with ${need} events`);
  // Real category sequences, but event i of every user at the same time (one a minute): the
  // partition watermark is shared by all users, so without lockstep a slice [from, to) would hold
  // events already late for the watermark other users set, and they would be dropped, not timed.
  const t0 = Date.UTC(2017, 10, 26);
  return out
    .slice(0, historyUsers)
    .map((rs) => rs.map((r, i) => ({ ...r, eventTimeMs: t0 + i * 60_000, sessionId: `${r.userId}-s` })));
}

/** Events number [from, to) of every user, merged in event-time order. */
function slice(users: DatasetRow[][], from: number, to: number, prefix: string): ClickEvent[] {
  const rows = users.flatMap((rs) => rs.slice(from, to));
  rows.sort((a, b) => a.eventTimeMs - b.eventTimeMs);
  return rowsToEvents(rows, `${prefix}-${from}`);
}

async function main(): Promise<void> {
  const config = loadConfigWithDefaults({
    IDRIFT_LOG_LEVEL: 'warn',
    IDRIFT_KAFKA_BROKERS: 'unused:9092',
    IDRIFT_SCHEMA_REGISTRY_URL: 'http://unused',
  });
  const { encoder, manifest } = await createOnnxEncoder(
    { modelPath: config.model.path, manifestPath: config.model.metaPath, provider: 'cpu', intraOpThreads: 1 },
    createLogger('warn'),
  );
  const params = coreParams(config, manifest);

  // 1. Scaling with history. Three groups: 10 past events (state not yet full), 100 and 1,000
  // (window and dedup list full). 1,000 vs 10 is the target's ratio; 1,000 vs 100 separates
  // "cost grows with history" from "cost grows until the bounded state is full".
  const pasts = [10, 100, 1000] as const;
  interface Group {
    readonly past: number;
    readonly users: DatasetRow[][];
    readonly pipe: OfflinePipeline;
    readonly perEventUs: number[];
  }
  const groups: Group[] = [];
  for (const [i, past] of pasts.entries()) {
    const need = past + rounds * newPerRound;
    log(`simulating ${historyUsers} users with ≥ ${need} events; feeding ${historyUsers * past} past events`);
    const users = usersWithHistory(101 * (i + 1), `hist-${past}`, need);
    const pipe = new OfflinePipeline(encoder, manifest, params);
    await pipe.feed(slice(users, 0, past, `p${past}`));
    groups.push({ past, users, pipe, perEventUs: [] });
  }
  // The live processor's default chunk cap (2,000 records), as with the 200 users this ran with
  // before: the encoder's cost per event depends on the batch, and it must not change with --history-users.
  const batch = Math.min(2000, historyUsers * newPerRound);
  for (let r = 0; r < rounds; r++) {
    // Rotate the order round by round so warm-up and machine noise hit every group alike.
    for (let k = 0; k < groups.length; k++) {
      const g = groups[(r + k) % groups.length] as Group;
      const ev: ClickEvent[] = slice(
        g.users,
        g.past + r * newPerRound,
        g.past + (r + 1) * newPerRound,
        `p${g.past}`,
      );
      const t0 = performance.now();
      await g.pipe.feed(ev, batch);
      g.perEventUs.push(((performance.now() - t0) * 1000) / ev.length);
    }
  }
  for (const g of groups) {
    const expected = historyUsers * (g.past + rounds * newPerRound);
    if (g.pipe.processed !== expected) {
      throw new Error(`not every event was processed: ${g.pipe.processed}/${expected} (${g.past} past)`);
    }
  }
  const [g10, g100, g1000] = groups as [Group, Group, Group];
  const stateFill = (g: Group): { window: number; dedupIds: number; longCategories: number } => {
    const st = [...g.pipe.states.values()];
    return {
      window: median(st.map((x) => windowLength(x.window))),
      dedupIds: median(st.map((x) => x.recentEventKeys.length)),
      longCategories: median(st.map((x) => x.longHorizon.ids.length)),
    };
  };
  const scaling = {
    users: historyUsers,
    newEventsPerUserPerRound: newPerRound,
    rounds,
    groups: groups.map((g) => ({
      pastEvents: g.past,
      perEventUs: g.perEventUs,
      medianPerEventUs: median(g.perEventUs),
      stateFillAtEnd: stateFill(g),
    })),
    ratioLongOverShort: median(g1000.perEventUs) / median(g10.perEventUs),
    ratio1000Over100: median(g1000.perEventUs) / median(g100.perEventUs),
    target: '≤ 1.2 (1,000 vs 10)',
  };
  log(
    `per event: ${groups.map((g) => `${median(g.perEventUs).toFixed(1)} µs (${g.past} past)`).join(', ')}; 1000/10 ${scaling.ratioLongOverShort.toFixed(2)}, 1000/100 ${scaling.ratio1000Over100.toFixed(2)}`,
  );
  const pipeA = g10.pipe;
  const pipeB = g1000.pipe;

  // 2. Memory per user.
  const size = (x: UserState): number => encodeState(x).length;
  const heaviest = [...pipeB.states.values()].sort(
    (x, y) => size(y) - size(x) || x.userId.localeCompare(y.userId),
  )[0] as UserState;
  const light = [...pipeA.states.values()][0] as UserState;
  const userIdOf = (i: number): string => `user-${(1_000_000_000 + i).toString(36)}`;
  // Where the bytes go: the saturated state with one part emptied at a time (fewer users suffice).
  const ablationUsers = Math.min(memoryUsers, 100_000);
  const ablate = async (what: string, st: UserState): Promise<{ part: string; bytesPerUser: number }> => {
    const store = new StateStore();
    const m0 = await settle();
    // One encode per user, as restore keeps one value per user: nothing shared.
    for (let i = 0; i < ablationUsers; i++) store.put(userIdOf(i), encodeState(st));
    const m1 = await settle();
    // The store must outlive the measurement: unused after its last put, it was collected before
    // m1, and every part measured about 0 B (the breakdown printed -2 B for each).
    if (store.size !== ablationUsers) throw new Error(`ablation store holds ${store.size} users`);
    // process.memoryUsage().external already includes arrayBuffers: adding both counted it twice.
    const total = m1.heapUsed + m1.external - (m0.heapUsed + m0.external);
    return { part: what, bytesPerUser: Math.round(total / ablationUsers) };
  };
  const emptyHist = EMPTY_HISTOGRAM;
  const whole = await ablate('whole state', heaviest);
  const breakdown = [
    await ablate('recent event keys (dedup)', { ...heaviest, recentEventKeys: [] }),
    await ablate('window entries', { ...heaviest, window: EMPTY_WINDOW }),
    await ablate('short + long category histograms', {
      ...heaviest,
      shortHorizon: emptyHist,
      longHorizon: emptyHist,
    }),
    await ablate('hidden state + 2 embeddings (float32)', {
      ...heaviest,
      hidden: null,
      shortEmbedding: null,
      longEmbedding: null,
    }),
  ].map((b) => ({ part: b.part, bytesPerUser: whole.bytesPerUser - b.bytesPerUser }));
  const rest = whole.bytesPerUser - breakdown.reduce((n, b) => n + b.bytesPerUser, 0);
  breakdown.push({
    part: 'everything else (header, category table, buffer and map entry)',
    bytesPerUser: rest,
  });
  log(
    `breakdown at ${ablationUsers} users: ${breakdown.map((b) => `${b.part} ${b.bytesPerUser}`).join('; ')}`,
  );
  const memory = [];
  for (const [label, template] of [
    ['saturated (window and dedup list full)', heaviest],
    [`light (${light.eventCount} events)`, light],
  ] as const) {
    const changelogBytes = size(template);
    const store = new StateStore();
    const before = await settle();
    const t0 = performance.now();
    for (let i = 0; i < memoryUsers; i++) store.put(userIdOf(i), encodeState(template));
    const buildS = (performance.now() - t0) / 1000;
    const after = await settle();
    const heapPerUser = (after.heapUsed - before.heapUsed) / memoryUsers;
    const externalPerUser = (after.external - before.external) / memoryUsers; // external includes arrayBuffers
    memory.push({
      state: label,
      users: store.size,
      windowEntries: windowLength(template.window),
      recentEventIds: template.recentEventKeys.length,
      shortHistogramCategories: template.shortHorizon.ids.length,
      longHistogramCategories: template.longHorizon.ids.length,
      changelogValueBytes: changelogBytes,
      heapBytesPerUser: Math.round(heapPerUser),
      offHeapBytesPerUser: Math.round(externalPerUser),
      totalBytesPerUser: Math.round(heapPerUser + externalPerUser),
      rssAfterMb: Math.round(after.rss / 1e6),
      buildSeconds: buildS,
      gcForced: gc !== undefined,
    });
    log(
      `${label}: ${Math.round(heapPerUser + externalPerUser)} B/user in memory at ${store.size} users (changelog value ${changelogBytes} B)`,
    );
  }
  // 3. Turnover: cohorts come and go, with and without a state TTL.
  const DAY = 86_400_000;
  const cohorts = 10;
  const turnover: { ttlDays: number; live: number[]; heapMb: number[] }[] = [];
  if (turnoverUsers > 0) {
    const start = Date.UTC(2017, 10, 26);
    for (const ttlDays of [3, 0]) {
      const pipe = new OfflinePipeline(encoder, manifest, { ...params, stateTtlMs: ttlDays * DAY });
      const run = { ttlDays, live: [] as number[], heapMb: [] as number[] };
      for (let c = 0; c < cohorts; c++) {
        const rows = simulate({
          seed: 500 + c,
          users: turnoverUsers,
          days: 1,
          startTimeMs: start + c * DAY,
          userPrefix: `cohort${c}`,
        }).rows;
        await pipe.feed(rowsToEvents(rows, `t${c}`), 2000);
        pipe.outputs.length = 0; // the outputs would go to Kafka: not state
        run.live.push(pipe.states.size);
        run.heapMb.push(Math.round((await settle()).heapUsed / 2 ** 20));
      }
      log(
        `turnover, TTL ${ttlDays || 'off'}: live users ${run.live.join(', ')}; heap MB ${run.heapMb.join(', ')}`,
      );
      turnover.push(run);
      pipe.states.clear();
    }
  }
  await encoder.dispose();

  const result = {
    at: new Date().toISOString(),
    node: process.version,
    scaling,
    memory,
    breakdown: { users: ablationUsers, wholeBytesPerUser: whole.bytesPerUser, parts: breakdown },
    turnover: { usersPerCohort: turnoverUsers, cohorts, runs: turnover },
    target: { bytesPerUser: 2048 },
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'state.json'), JSON.stringify(result, null, 2) + '\n');
  const md = [
    '# State benchmark',
    '',
    `Run ${result.at}, node ${process.version}, ${historyUsers} users per history group, ${memoryUsers.toLocaleString('en')} users for memory.`,
    '',
    '## Per-event cost against history length (incremental encoder)',
    '',
    '| past events | median µs per new event | per round | window / dedup ids / long-horizon categories at the end |',
    '| ---: | ---: | --- | --- |',
    ...scaling.groups.map(
      (g) =>
        `| ${g.pastEvents.toLocaleString('en')} | ${g.medianPerEventUs.toFixed(1)} | ${g.perEventUs.map((x) => x.toFixed(0)).join(', ')} | ${g.stateFillAtEnd.window} / ${g.stateFillAtEnd.dedupIds} / ${g.stateFillAtEnd.longCategories} |`,
    ),
    '',
    `Ratio 1,000 vs 10 past events: **${scaling.ratioLongOverShort.toFixed(2)}** (target ≤ 1.2); 1,000 vs 100: **${scaling.ratio1000Over100.toFixed(2)}**. The state is bounded (window, dedup list, histogram caps), so per-event cost can grow only until it is full, which a user with 10 past events is not yet.`,
    '',
    '## Memory per user (states as restore decodes them, forced GC)',
    '',
    '| state | users | window | dedup ids | changelog value B | heap B/user | off-heap B/user | total B/user |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...memory.map(
      (m) =>
        `| ${m.state} | ${m.users.toLocaleString('en')} | ${m.windowEntries} | ${m.recentEventIds} | ${m.changelogValueBytes} | ${m.heapBytesPerUser} | ${m.offHeapBytesPerUser} | **${m.totalBytesPerUser}** |`,
    ),
    '',
    'Target ≤ 2,048 B per user.',
    '',
    `Where the bytes of a saturated state go (${ablationUsers.toLocaleString('en')} users, each part emptied in turn):`,
    '',
    '| part | B/user |',
    '| --- | ---: |',
    ...breakdown.map((b) => `| ${b.part} | ${b.bytesPerUser} |`),
    `| **whole state** | **${whole.bytesPerUser}** |`,
    '',
    ...(turnover.length === 0
      ? []
      : [
          `## Turnover: ${cohorts} cohorts of ${turnoverUsers.toLocaleString('en')} users, one a day, each active for a day`,
          '',
          `| state TTL | ${Array.from({ length: cohorts }, (_, c) => `after day ${c + 1}`).join(' | ')} |`,
          `| --- | ${Array.from({ length: cohorts }, () => '---:').join(' | ')} |`,
          ...turnover.map(
            (t) =>
              `| ${t.ttlDays ? `${t.ttlDays} days` : 'off'} | ${t.live.map((n, c) => `${n.toLocaleString('en')} users, ${t.heapMb[c]} MB`).join(' | ')} |`,
          ),
          '',
          'Heap is the whole process after a forced GC (encoder and the other sections included), so only its trend is meaningful.',
          '',
        ]),
  ].join('\n');
  writeFileSync(join(outDir, 'state.md'), md);
  log(`wrote ${join(outDir, 'state.md')}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
