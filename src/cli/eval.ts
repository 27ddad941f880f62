/**
 * `interest-drift eval`: the offline evaluation report (markdown + JSON + PNG plots).
 *
 *   interest-drift eval [--data FILE [--split onnx/artifacts/split.json --users test]]
 *                       [--simulate [--sim-users N] [--sim-days D] [--seed S]] [--out DIR]
 *
 * Parameters come from the model metadata (calibrated thresholds, including the baselines')
 * and the IDRIFT_* config overrides, never from the dataset. The PNG plots are drawn by
 * src/eval/plot_report.py from report.json (make eval runs both).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigWithDefaults } from '../shared/config';
import { coreParams } from '../pipeline/params';
import type { NextCategoryHeadWeights } from '../core/next-category-head';
import { loadNextCategoryHead } from '../model/learned-weights';
import { createLogger } from '../shared/logger';
import type { BaselineName } from '../eval/baselines';
import { BASELINE_GRIDS, BASELINES } from '../eval/baselines';
import type { EvalSet, OperatingPoint, SeedSpread } from '../eval/evaluate';
import {
  evaluateChurn,
  evaluateMigrations,
  evaluateNextCategory,
  migrationsOverSeeds,
  nullCheck,
  realEvalSet,
  simEvalSet,
} from '../eval/evaluate';
import type { EvalReport, SetReport } from '../eval/report';
import { renderReport } from '../eval/report';
import { readDataset } from '../io/datasets';
import { createOnnxEncoder } from '../model/onnx-encoder';
import type { SimResult } from '../sim/simulator';
import { HARD_SIM, simulate } from '../sim/simulator';
import type { Args } from './args';
import { numberFlag, stringFlag } from './args';

function log(msg: string): void {
  process.stderr.write(`[eval] ${msg}\n`);
}

const DEFAULT_HEAD_PATH = 'onnx/artifacts/next-category-head.json';

/** The head's weights: an explicit --head must exist; the default file may be absent (no head). */
function headFrom(path: string | undefined): NextCategoryHeadWeights | null {
  if (!path && !existsSync(DEFAULT_HEAD_PATH)) return null;
  return loadNextCategoryHead(path ?? DEFAULT_HEAD_PATH);
}

export async function runEval(args: Args): Promise<number> {
  // The evaluation touches neither Kafka nor the registry; only the model and processing
  // settings of the config matter, so the connection variables get placeholders.
  const config = loadConfigWithDefaults(
    {
      IDRIFT_LOG_LEVEL: 'warn',
      IDRIFT_KAFKA_BROKERS: 'unused:9092',
      IDRIFT_SCHEMA_REGISTRY_URL: 'http://unused',
    },
    { modelFiles: true },
    'eval',
  );
  const out = stringFlag(args, 'out') ?? 'onnx/artifacts/eval';
  const { encoder, manifest } = await createOnnxEncoder(
    { modelPath: config.model.path, manifestPath: config.model.metaPath, provider: 'cpu', intraOpThreads: 2 },
    createLogger('warn'),
  );
  const params = coreParams(config, manifest);
  const head = headFrom(stringFlag(args, 'head'));
  const thresholds = (manifest.raw.thresholds ?? {}) as {
    baselines?: Partial<Record<BaselineName, number>>;
    calibration?: { baselines?: Record<string, { stableAlertRate: number; targetMet: boolean }> };
    operatingPoints?: OperatingPoint[];
  };
  const stored = thresholds.baselines ?? {};
  const baselineParams = {} as Record<BaselineName, number>;
  for (const b of BASELINES) {
    const grid = BASELINE_GRIDS[b];
    baselineParams[b] = stored[b] ?? (grid[Math.floor(grid.length / 2)] as number);
  }
  const sets: { set: EvalSet; source: string; nextCategory: boolean }[] = [];
  const dataPath = stringFlag(args, 'data');
  if (dataPath) {
    const ds = await readDataset(dataPath);
    let rows = ds.rows;
    let name = `${ds.format} (all users)`;
    const usersFlag = stringFlag(args, 'users');
    if (usersFlag) {
      const splitPath = stringFlag(args, 'split') ?? 'onnx/artifacts/split.json';
      const split = JSON.parse(readFileSync(splitPath, 'utf8')) as Record<string, string[]>;
      const keep = new Set(split[usersFlag] ?? []);
      if (keep.size === 0) throw new Error(`split ${splitPath} has no "${usersFlag}" users`);
      rows = rows.filter((r) => keep.has(r.userId));
      name = `${ds.format === 'taobao' ? 'Taobao' : ds.format} ${usersFlag} users`;
    }
    sets.push({
      set: realEvalSet(name, rows, manifest.inactivityHorizonMs),
      source: dataPath.split('/').pop() ?? dataPath,
      nextCategory: true,
    });
  }
  const seedSets: { scenario: string; seeds: number[]; sets: EvalSet[] }[] = [];
  if (args.flags.has('simulate')) {
    const seed = numberFlag(args, 'seed', 11, { integer: true });
    const users = numberFlag(args, 'sim-users', 1500, { min: 1, integer: true });
    const days = numberFlag(args, 'sim-days', 5, { min: 0 });
    const seeds = Array.from(
      { length: numberFlag(args, 'sim-seeds', 5, { min: 1, integer: true }) },
      (_, i) => seed + i,
    );
    // Today's scenario (abrupt, total, permanent migrations; stationary stable users) and the
    // hard one (excursions, gradual and partial migrations, slowing before quiet, breadth).
    for (const [scenario, extra] of [
      ['simulated', {}],
      ['simulated, hard', HARD_SIM],
    ] as const) {
      const sim = (s: number): SimResult =>
        simulate({ seed: s, users, days, userPrefix: 'evalsim', ...extra });
      seedSets.push({
        scenario,
        seeds,
        sets: seeds.map((s) => simEvalSet(`${scenario}, seed ${s}`, sim(s))),
      });
      sets.push({
        set: simEvalSet(`${scenario} (seed ${seed}, ${users} users, ${days} days)`, sim(seed)),
        source: `simulator seed=${seed} users=${users} days=${days}${scenario.includes('hard') ? ' HARD_SIM' : ''}`,
        nextCategory: true,
      });
    }
  }
  if (sets.length === 0) throw new Error('eval needs --data FILE and/or --simulate');
  const reports: SetReport[] = [];
  for (const { set, source, nextCategory } of sets) {
    const positives = [...set.truth.values()].filter((t) => t.positive).length;
    log(`${set.name}: ${set.rows.length} events; migrations…`);
    const migration = await evaluateMigrations(
      set,
      encoder,
      manifest,
      params,
      baselineParams,
      thresholds.operatingPoints ?? [],
    );
    log(`${set.name}: churn…`);
    const labelNull =
      set.kind === 'real'
        ? await nullCheck(
            set,
            new Map(migration.methods.map((m) => [m.method, m.atCalibrated])),
            encoder,
            manifest,
            params,
            baselineParams,
          )
        : null;
    const churn = await evaluateChurn(set, encoder, manifest, params);
    const churnLonger =
      set.churnTruth.kind === 'no-event-within'
        ? await evaluateChurn(
            { ...set, churnTruth: { kind: 'no-event-within', horizonMs: 2 * set.churnTruth.horizonMs } },
            encoder,
            manifest,
            params,
          )
        : null;
    log(`${set.name}: next category…`);
    const next = nextCategory ? await evaluateNextCategory(set.rows, encoder, manifest, params, head) : null;
    reports.push({
      name: set.name,
      kind: set.kind,
      source,
      users: migration.users,
      events: migration.events,
      positives,
      negatives: set.truth.size - positives,
      migration,
      churn,
      churnLonger,
      nullCheck: labelNull,
      nextCategory: next,
    });
  }
  const simSeeds: SeedSpread[] = [];
  for (const ss of seedSets) {
    if (ss.seeds.length < 2) continue;
    log(`${ss.scenario}: migrations over seeds ${ss.seeds.join(', ')}…`);
    simSeeds.push({
      ...(await migrationsOverSeeds(ss.sets, ss.seeds, encoder, manifest, params, baselineParams)),
      scenario: ss.scenario,
    });
  }
  await encoder.dispose();
  let modelEval: unknown = null;
  try {
    modelEval = JSON.parse(readFileSync('onnx/artifacts/metrics.json', 'utf8'));
  } catch {
    modelEval = null;
  }
  const report: EvalReport = {
    generatedBy: 'interest-drift eval (src/cli/eval.ts)',
    modelVersion: manifest.modelVersion,
    drift: {
      enterThreshold: params.drift.enterThreshold,
      exitThreshold: params.drift.exitThreshold,
      minEvidenceEvents: params.drift.minEvidenceEvents,
      cooldownMs: params.drift.cooldownMs,
    },
    baselineParams,
    baselineParamsSource: thresholds.baselines
      ? 'model metadata thresholds.baselines (calibrated on the train users by make calibrate)'
      : 'middle of each grid (model metadata has no thresholds.baselines; run make calibrate)',
    baselineCalibration: thresholds.calibration?.baselines ?? null,
    sets: reports,
    simSeeds,
    reference: { modelEval },
  };
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'report.json'), `${JSON.stringify(report, null, 1)}\n`);
  writeFileSync(join(out, 'README.md'), renderReport(report));
  log(`wrote ${join(out, 'report.json')} and ${join(out, 'README.md')}`);
  return 0;
}
