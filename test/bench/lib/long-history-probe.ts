/**
 * Churn alerts over a simulation longer than the 9-day sample the churn hazard was trained on, with
 * the hazard's feature ranges (`lower`/`upper` in onnx/artifacts/churn-hazard.json) and without.
 * Without them, the linear model extrapolates `days_since_first_event` past the 7.75 days the train
 * checkpoints reach, and users with more history are almost never alerted. Prints RAISED alerts by
 * the user's history at the alert (≤ 7.75 days, 7.75–21, > 21) and level; about 30 s.
 *
 *   npx tsx test/bench/lib/long-history-probe.ts [--users 600] [--days 42]
 */
import { numberFlag, parseScriptArgs } from '../../../src/cli/args';
import type { ChurnRisk } from '../../../src/core/types';
import { RecordingEncoder, rowsToEvents, runOffline } from '../../../src/eval/offline-run';
import { simulate } from '../../../src/sim/simulator';
import { offlineModel } from './offline-model';

const args = parseScriptArgs({
  name: 'long-history-probe.ts',
  summary: 'Churn alerts by user history in a long simulation, with and without the hazard’s feature ranges.',
  usage: ['[--users N] [--days D]'],
  options: {
    users: { type: 'string', valueName: 'N', description: 'simulated users (default 600)' },
    days: { type: 'string', valueName: 'D', description: 'simulated days (default 42)' },
  },
});
const DAY_MS = 86_400_000;
const TRAINED_HISTORY_DAYS = 7.75;

async function main(): Promise<void> {
  const { encoder, manifest, params: base } = await offlineModel();
  const rows = simulate({
    seed: 77,
    users: numberFlag(args, 'users', 600),
    days: numberFlag(args, 'days', 42),
    userPrefix: 'long',
  }).rows.sort((a, b) => a.eventTimeMs - b.eventTimeMs || (a.userId < b.userId ? -1 : 1));
  const events = rowsToEvents(rows, 'long');
  const firstEventMs = new Map<string, number>();
  for (const e of events) if (!firstEventMs.has(e.userId)) firstEventMs.set(e.userId, e.eventTimeMs);
  const spanDays = ((events.at(-1)?.eventTimeMs ?? 0) - (events[0]?.eventTimeMs ?? 0)) / DAY_MS;
  console.log(`${events.length} events, ${firstEventMs.size} users, ${spanDays.toFixed(1)} days`);
  const hazard = base.churn.hazard;
  if (!hazard) throw new Error('no churn hazard configured');
  const replay = new RecordingEncoder(encoder);
  for (const [name, h] of [
    ['with the feature ranges', hazard],
    ['without them', { ...hazard, lower: undefined, upper: undefined }],
  ] as const) {
    replay.rewind();
    const r = await runOffline(events, replay, manifest, { ...base, churn: { ...base.churn, hazard: h } });
    const counts = new Map<string, number>();
    for (const o of r.outputs) {
      if (o.kind !== 'churn') continue;
      const a = o.value as ChurnRisk;
      if (a.status !== 'RAISED') continue;
      const days = (a.scoredAtEventTimeMs - (firstEventMs.get(a.userId) ?? 0)) / DAY_MS;
      const band = days <= TRAINED_HISTORY_DAYS ? '≤ 7.75 d' : days <= 21 ? '7.75–21 d' : '> 21 d';
      counts.set(`${band} ${a.level}`, (counts.get(`${band} ${a.level}`) ?? 0) + 1);
    }
    const total = [...counts.values()].reduce((n, c) => n + c, 0);
    console.log(
      `${name}: ${total} alerts raised; by history and level: ${JSON.stringify(Object.fromEntries([...counts].sort()))}`,
    );
  }
  await encoder.dispose();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
