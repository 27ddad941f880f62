/**
 * Issue 13 D, the selection step: every candidate drift signal (eval/drift-candidates.ts), the
 * project's best gated baseline and the shipped detector, each at the parameter that alerts at
 * most `--budget` of the stable TRAIN users, measured on the train and valid users and on
 * simulator seeds that the evaluation never uses (hard scenario 31–35, default scenario 31).
 * The test users and the evaluation's seeds (11–15) are not read. Also an upper bound: a CUSUM
 * that knows each simulated user's true home categories (calibrated on hard seed 36, since real
 * users have no such truth).
 *
 *   tsx src/tools/drift-candidates.ts [--budget 0.1] [--out onnx/artifacts/drift-candidates]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { numberFlag, parseScriptArgs, stringFlag } from '../cli/args';
import { DEFAULT_PARAMS } from '../core/params';
import { createBaseline, gated, guardsOf } from '../eval/baselines';
import { candidates, SessionHomeCusum } from '../eval/drift-candidates';
import type { EvalSet, OperatingPoint } from '../eval/evaluate';
import {
  CATEGORIES_ONLY,
  CORE_VARIANTS,
  OURS,
  coreAlerts,
  detectorAlerts,
  meanSd,
  realEvalSet,
  setEvents,
  simEvalSet,
  withEnterThreshold,
} from '../eval/evaluate';
import type { Alert, DetectionScore } from '../eval/migration-scoring';
import type { Interval, MigrationOutcome } from '../eval/bootstrap';
import { migrationOutcomes, pairedDetectionDifference } from '../eval/bootstrap';
import { signedCi } from '../eval/report';
import { scoreDetections } from '../eval/migration-scoring';
import { RecordingEncoder } from '../eval/offline-run';
import { rowsByUser } from '../io/datasets';
import type { SimResult } from '../sim/simulator';
import { HARD_SIM, simulate } from '../sim/simulator';
import stats from '../sim/taobao-stats.json';
import { DEFAULT_DATA, DEFAULT_SPLIT, committedEncoder, runTool, splitRows } from './split-inputs';

const DEV_SEEDS = [31, 32, 33, 34, 35];
const SHIPPED = `${OURS}, shipped`;
/** The paired comparisons reported: the encoder ablation and the best candidate on hard F1. */
const PAIRS: readonly [string, string][] = [
  [SHIPPED, CATEGORIES_ONLY],
  [SHIPPED, 'session-home-loss'],
];
const SIM_TRAIN_SEED = 36;
const SIM = { users: 1500, days: 5 } as const;

interface Paired {
  readonly a: string;
  readonly b: string;
  /** a − b, users resampled in pairs (the hard seeds' users pooled). */
  readonly trainRecall: Interval;
  readonly validRecall: Interval;
  readonly hardF1: Interval;
  /** Both methods kept the train stable-alert rate within the budget (else not a fair comparison). */
  readonly budgetsMet: boolean;
}

interface Row {
  method: string;
  param: number | string;
  /** False when no parameter of the grid keeps the train stable-alert rate within the budget. */
  budgetMet: boolean;
  train: { recall: number; stable: number };
  valid: { recall: number; stable: number };
  hard: { f1: string; recall: string; precision: string; stable: string; delayP50: string };
  hardF1: number;
  easyF1: number;
  /** Best mean F1 on the hard seeds over the grid (the threshold chosen with hindsight). */
  bestHardF1: number | null;
}

const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
const spread = (xs: number[], f: (x: number) => string): string => {
  const m = meanSd(xs);
  return `${f(m.mean)} ± ${f(m.sd)}`;
};

/** Mean ± sd over the seeds of the headline numbers. */
function seedSpread(scores: DetectionScore[]): Row['hard'] {
  const of = (f: (s: DetectionScore) => number, fmt: (x: number) => string): string =>
    spread(scores.map(f), fmt);
  return {
    f1: of(
      (s) => s.f1,
      (x) => x.toFixed(3),
    ),
    recall: of((s) => s.recall, pct),
    precision: of((s) => s.precision, pct),
    stable: of((s) => s.falseAlarmUserRate, pct),
    delayP50: meanSd(scores.map((s) => s.delayEventsP50)).mean.toFixed(1),
  };
}

/** A method's alerts per set, computed once. */
function memo(alerts: (set: EvalSet) => Alert[]): (set: EvalSet) => Alert[] {
  const cache = new Map<EvalSet, Alert[]>();
  return (set) => {
    const hit = cache.get(set) ?? alerts(set);
    cache.set(set, hit);
    return hit;
  };
}

function summarise(
  method: string,
  param: number | string,
  budgetMet: boolean,
  alerts: (set: EvalSet) => Alert[],
  sets: { train: EvalSet; valid: EvalSet; easy: EvalSet; hard: EvalSet[] },
  bestHardF1: number | null,
): Row {
  const score = (set: EvalSet): DetectionScore => scoreDetections(set.truth, alerts(set));
  const tr = score(sets.train);
  const va = score(sets.valid);
  const hard = sets.hard.map(score);
  return {
    method,
    param,
    budgetMet,
    train: { recall: tr.recall, stable: tr.falseAlarmUserRate },
    valid: { recall: va.recall, stable: va.falseAlarmUserRate },
    hard: seedSpread(hard),
    hardF1: meanSd(hard.map((h) => h.f1)).mean,
    easyF1: score(sets.easy).f1,
    bestHardF1,
  };
}

async function main(): Promise<void> {
  const args = parseScriptArgs({
    name: 'drift-candidates.ts',
    summary: 'Compare candidate drift signals with the shipped detector on train/valid users and dev seeds.',
    usage: ['[--data F] [--split F] [--budget X] [--out PREFIX]'],
    options: {
      data: { type: 'string', valueName: 'F', description: 'Taobao file' },
      split: { type: 'string', valueName: 'F', description: 'user split' },
      budget: {
        type: 'string',
        valueName: 'X',
        description: 'share of stable train users alerted (default 0.1)',
      },
      out: { type: 'string', valueName: 'PREFIX', description: 'writes PREFIX.md and PREFIX.json' },
    },
  });
  const dataPath = stringFlag(args, 'data') ?? DEFAULT_DATA;
  const splitPath = stringFlag(args, 'split') ?? DEFAULT_SPLIT;
  const budget = numberFlag(args, 'budget', 0.1);
  const out = stringFlag(args, 'out') ?? 'onnx/artifacts/drift-candidates';
  const day = 86_400_000;
  const train = realEvalSet('train', await splitRows(dataPath, splitPath, 'train'), day);
  const valid = realEvalSet('valid', await splitRows(dataPath, splitPath, 'valid'), day);
  const hardSims: SimResult[] = DEV_SEEDS.map((seed) => simulate({ ...HARD_SIM, seed, ...SIM }));
  const hard = hardSims.map((s, i) => simEvalSet(`hard-${DEV_SEEDS[i]}`, s));
  const easy = simEvalSet('default-31', simulate({ seed: 31, ...SIM }));
  const sets = { train, valid, easy, hard };
  const guards = guardsOf(DEFAULT_PARAMS.drift);
  const rows: Row[] = [];
  /** Each method's alerts at its chosen parameter, for the paired comparisons. */
  const alertsOf = new Map<string, (set: EvalSet) => Alert[]>();

  // Category-stream methods: the best gated baseline of the evaluation, then the candidates.
  const total = stats.categories.reduce((a, c) => a + c.count, 0);
  const shares = new Map(stats.categories.map((c) => [c.id, c.count / total]));
  const prior = (c: string): number => 0.5 * (shares.get(c) ?? 0) + 0.5 / 10_000;
  const streamMethods = [
    {
      name: 'js-divergence (gated baseline)',
      grid: [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 1],
      create: (p: number) => createBaseline('js-divergence', p, guards),
    },
    ...candidates(prior).map((c) => ({
      name: c.name,
      grid: c.grid,
      create: (p: number) => c.create(p, guards),
    })),
  ];
  for (const m of streamMethods) {
    const alertsAt = (p: number) => (set: EvalSet) => detectorAlerts(set.rows, () => m.create(p));
    const score = (p: number) => (set: EvalSet) => scoreDetections(set.truth, alertsAt(p)(set));
    const sweep = m.grid.map((p) => ({ p, rate: score(p)(train).falseAlarmUserRate }));
    const hit = sweep.find((x) => x.rate <= budget);
    const pick = (hit ?? sweep[sweep.length - 1]) as { p: number };
    let best = 0;
    for (const p of m.grid) best = Math.max(best, meanSd(hard.map(score(p)).map((s) => s.f1)).mean);
    const chosen = memo(alertsAt(pick.p));
    alertsOf.set(m.name, chosen);
    rows.push(summarise(m.name, pick.p, hit !== undefined, chosen, sets, best));
    process.stderr.write(`${m.name} done\n`);
  }

  // The shipped detector and its categories-only ablation, at the committed operating point.
  const { encoder, manifest } = await committedEncoder();
  const points =
    (manifest.raw.thresholds as { operatingPoints?: OperatingPoint[] } | undefined)?.operatingPoints ?? [];
  const op = points.find((p) => p.budget === budget);
  const recordings = new Map<string, RecordingEncoder>();
  if (!op)
    process.stderr.write(
      `the model metadata has no operating point at budget ${budget} (make calibrate stores 0.05 and 0.1): the shipped detector is left out\n`,
    );
  for (const v of op ? CORE_VARIANTS.filter((x) => x.embeddingWeight !== 1) : []) {
    const enter = op?.params[v.name];
    if (enter === undefined) continue;
    const params = withEnterThreshold(
      DEFAULT_PARAMS,
      enter,
      guards.hysteresisGap,
      v.embeddingWeight ?? DEFAULT_PARAMS.drift.embeddingWeight,
    );
    const cache = new Map<EvalSet, Alert[]>();
    for (const set of [train, valid, easy, ...hard]) {
      const rec = recordings.get(set.name) ?? new RecordingEncoder(encoder);
      recordings.set(set.name, rec);
      rec.rewind();
      cache.set(set, await coreAlerts(setEvents(set), rowsByUser(set.rows), rec, manifest, params));
    }
    const name = v.name === OURS ? SHIPPED : v.name;
    const alerts = (s: EvalSet): Alert[] => cache.get(s) ?? [];
    alertsOf.set(name, alerts);
    rows.push(summarise(name, enter, true, alerts, sets, null));
    process.stderr.write(`${v.name} done\n`);
  }
  await encoder.dispose();

  // Upper bound: the session CUSUM with each simulated user's true home (simulation only).
  const simTrainRun = simulate({ ...HARD_SIM, seed: SIM_TRAIN_SEED, ...SIM });
  const simTrain = simEvalSet(`hard-${SIM_TRAIN_SEED}`, simTrainRun);
  const oracle = (p: number, sim: SimResult, set: EvalSet): DetectionScore =>
    scoreDetections(
      set.truth,
      detectorAlerts(set.rows, (u) =>
        gated(new SessionHomeCusum(0.1, 2, new Set(sim.startHomes.get(u) ?? [])), {
          enterThreshold: p,
          exitThreshold: p,
          minEvidenceEvents: 1,
          minHistoryEvents: guards.minHistoryEvents,
          cooldownMs: guards.cooldownMs,
          embeddingWeight: 0,
        }),
      ),
    );
  const oracleGrid = [0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10, 13];
  const oracleParam =
    oracleGrid.find((p) => oracle(p, simTrainRun, simTrain).falseAlarmUserRate <= budget) ?? 13;
  const oracleScores = hard.map((set, i) => oracle(oracleParam, hardSims[i] as SimResult, set));
  const bound = { param: oracleParam, ...seedSpread(oracleScores) };

  const outcomes = (m: string, list: EvalSet[]): MigrationOutcome[] =>
    list.flatMap((set) => migrationOutcomes(set.truth, alertsOf.get(m)?.(set) ?? []));
  const paired: Paired[] = PAIRS.filter(([a, b]) => alertsOf.has(a) && alertsOf.has(b)).map(([a, b]) => ({
    a,
    b,
    trainRecall: pairedDetectionDifference(outcomes(a, [train]), outcomes(b, [train])).recall,
    validRecall: pairedDetectionDifference(outcomes(a, [valid]), outcomes(b, [valid])).recall,
    hardF1: pairedDetectionDifference(outcomes(a, hard), outcomes(b, hard)).f1,
    budgetsMet: rows.filter((r) => r.method === a || r.method === b).every((r) => r.budgetMet),
  }));

  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    `${out}.json`,
    `${JSON.stringify({ budget, devSeeds: DEV_SEEDS, rows, paired, bound }, null, 2)}\n`,
  );
  writeFileSync(`${out}.md`, render(budget, rows, paired, bound, train, valid));
  process.stdout.write(`wrote ${out}.md and ${out}.json\n`);
}

function render(
  budget: number,
  rows: Row[],
  paired: Paired[],
  bound: { param: number; f1: string; recall: string; precision: string; stable: string; delayP50: string },
  train: EvalSet,
  valid: EvalSet,
): string {
  const count = (s: EvalSet, positive: boolean) =>
    [...s.truth.values()].filter((t) => t.positive === positive).length;
  const lines = [
    '# Drift score candidates (issue 13 D), chosen without the test users',
    '',
    `Written by \`make drift-candidates\` (src/tools/drift-candidates.ts). Each method at the parameter that alerts at most ${pct(budget)} of the stable train users (${count(train, false)} stable, ${count(train, true)} movers; valid: ${count(valid, false)} stable, ${count(valid, true)} movers), with the detector's gating. Hard simulation: seeds ${DEV_SEEDS.join(', ')} (mean ± sd), ${SIM.users} users, ${SIM.days} days; the evaluation's own seeds (11–15) and the test users are not read. "Best hard F1" is the best mean F1 over the method's grid, the threshold picked with hindsight.`,
    '',
    '| method | param | train recall | train stable alerted | valid recall | valid stable alerted | hard F1 | hard recall | hard precision | hard stable alerted | hard delay p50 (events) | default-sim F1 | best hard F1 |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.method} | ${r.param}${r.budgetMet ? '' : ' (budget not met)'} | ${pct(r.train.recall)} | ${pct(r.train.stable)} | ${pct(r.valid.recall)} | ${pct(r.valid.stable)} | ${r.hard.f1} | ${r.hard.recall} | ${r.hard.precision} | ${r.hard.stable} | ${r.hard.delayP50} | ${r.easyF1.toFixed(3)} | ${r.bestHardF1 === null ? 'n/a' : r.bestHardF1.toFixed(3)} |`,
    ),
    '',
    'Paired differences (first method minus second; users resampled in pairs, 1,000 resamples; the five hard seeds pooled):',
    '',
    '| first | second | train recall | valid recall | hard F1 |',
    '| --- | --- | ---: | ---: | ---: |',
    ...paired.map(
      (p) =>
        `| ${p.a} | ${p.b}${p.budgetsMet ? '' : ' (budget not met: not a fair comparison)'} | ${signedCi(p.trainRecall, 1, 100)} pt | ${signedCi(p.validRecall, 1, 100)} pt | ${signedCi(p.hardF1, 3)} |`,
    ),
    '',
    `**Upper bound**: a session CUSUM that knows every simulated user's true home categories (calibrated on hard seed ${SIM_TRAIN_SEED} to the same budget, threshold ${bound.param} nats): hard F1 ${bound.f1}, recall ${bound.recall}, precision ${bound.precision}, stable users alerted ${bound.stable}, delay p50 ${bound.delayP50} events.`,
    '',
  ];
  return lines.join('\n');
}

runTool(main);
