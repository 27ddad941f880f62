/**
 * Derives the simulator's statistics from the real Taobao users sample and writes
 * src/sim/taobao-stats.json. Only aggregate statistics leave the data: category popularity
 * (anonymised ids), the event-type mix, session shape and gap quantiles. No user, item or
 * per-user sequence is written.
 *
 * Fitted on the TRAIN users of the encoder's split only (onnx/artifacts/split.json), so no
 * statistic of a test user reaches the simulated data the evaluation reports on.
 *
 *   tsx src/tools/fit-simulator.ts ../shared/data/taobao-userbehavior-users.csv.gz [onnx/artifacts/split.json]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readDataset, rowsByUser } from '../io/datasets';
import { SESSION_GAP_MS } from '../core/types';

const TOP_CATEGORIES = 600;
/** The simulator gives each user 3–5 home categories (4 on average). */
const HOME_CATEGORIES = 4;

function quantiles(values: number[], n: number): number[] {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return [];
  return Array.from(
    { length: n + 1 },
    (_, i) => s[Math.min(s.length - 1, Math.round((i / n) * (s.length - 1)))] as number,
  );
}

async function main(): Promise<void> {
  const path = process.argv[2] ?? '../shared/data/taobao-userbehavior-users.csv.gz';
  const splitPath = process.argv[3] ?? 'onnx/artifacts/split.json';
  const train = new Set((JSON.parse(readFileSync(splitPath, 'utf8')) as { train: string[] }).train);
  const rows = (await readDataset(path, 'taobao')).rows.filter((r) => train.has(r.userId));
  if (rows.length === 0) throw new Error(`no train users of ${splitPath} in ${path}`);
  const byUser = rowsByUser(rows);
  const catCounts = new Map<string, number>();
  const kindCounts = new Map<string, number>();
  const sessionLengths: number[] = [];
  const inGaps: number[] = [];
  const betweenGaps: number[] = [];
  const categoriesPerUser: number[] = [];
  let stay = 0;
  let moves = 0;
  let offHomeShareSum = 0;
  for (const events of byUser.values()) {
    categoriesPerUser.push(new Set(events.map((e) => e.categoryId)).size);
    const perCat = new Map<string, number>();
    for (const e of events) perCat.set(e.categoryId, (perCat.get(e.categoryId) ?? 0) + 1);
    const inHome = [...perCat.values()]
      .sort((a, b) => b - a)
      .slice(0, HOME_CATEGORIES)
      .reduce((a, b) => a + b, 0);
    offHomeShareSum += 1 - inHome / events.length;
    let len = 0;
    events.forEach((e, i) => {
      catCounts.set(e.categoryId, (catCounts.get(e.categoryId) ?? 0) + 1);
      kindCounts.set(e.kind, (kindCounts.get(e.kind) ?? 0) + 1);
      const prev = events[i - 1];
      if (!prev) {
        len = 1;
        return;
      }
      const gap = e.eventTimeMs - prev.eventTimeMs;
      if (gap > SESSION_GAP_MS) {
        sessionLengths.push(len);
        betweenGaps.push(gap);
        len = 1;
      } else {
        inGaps.push(gap);
        len++;
        if (e.categoryId === prev.categoryId) stay++;
        moves++;
      }
    });
    sessionLengths.push(len);
  }
  const days = (rows[rows.length - 1]!.eventTimeMs - rows[0]!.eventTimeMs) / 86_400_000;
  const top = [...catCounts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, TOP_CATEGORIES);
  const stats = {
    source:
      'Alibaba Tianchi UserBehavior (Taobao), users sample, train users of the split only; aggregates only',
    users: byUser.size,
    events: rows.length,
    days: Number(days.toFixed(2)),
    eventKindShares: Object.fromEntries(
      [...kindCounts.entries()].sort().map(([k, v]) => [k, Number((v / rows.length).toFixed(5))]),
    ),
    categories: top.map(([id, n]) => ({ id, count: n })),
    sameCategoryInSessionRate: Number((stay / Math.max(1, moves)).toFixed(4)),
    sessionGapMs: SESSION_GAP_MS,
    sessionLengthQuantiles: quantiles(sessionLengths, 50),
    inSessionGapMsQuantiles: quantiles(inGaps, 50),
    betweenSessionGapMsQuantiles: quantiles(betweenGaps, 50),
    categoriesPerUserQuantiles: quantiles(categoriesPerUser, 20),
    sessionsPerUserDay: Number((sessionLengths.length / byUser.size / days).toFixed(3)),
    // Mean share of a user's events outside their own top-4 categories: how much real shoppers
    // browse beyond their main interests (the simulator's exploration rate).
    offHomeEventShare: Number((offHomeShareSum / byUser.size).toFixed(4)),
  };
  const out = join(__dirname, '..', 'sim', 'taobao-stats.json');
  writeFileSync(out, `${JSON.stringify(stats, null, 1)}\n`);
  process.stdout.write(
    `wrote ${out}: ${stats.users} users, ${stats.events} events, ${top.length} categories\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`${String(e)}\n`);
  process.exit(1);
});
