/**
 * Calibrates the drift thresholds on real data and stores them in the model metadata
 * (`thresholds.drift`), where the service reads them (config may still override).
 *
 * Protocol: the TRAIN users of the encoder's split (onnx/artifacts/split.json) are replayed in
 * event-time order through the same topology as production (PartitionProcessor + the real ONNX
 * encoder). Each user is labelled from the data (eval/realised-shift.ts). For a grid of enter
 * thresholds (exit = enter − gap) we measure the share of STABLE users who get any migration
 * alert and the share of SHIFTERS alerted in their second half; the chosen enter threshold is the
 * lowest whose stable-user alert rate is at most the target. The encoder-free baselines of the
 * offline evaluation (eval/baselines.ts) are calibrated by the same rule on the same users and
 * stored beside (`thresholds.baselines`). Nothing is tuned on test users.
 *
 * Matched budgets: for each stable-alert budget (5 % and 10 %), every method of the evaluation
 * (the core detector and its ablations: categories only, embedding only; each baseline) gets
 * its own parameter by the same rule, stored as `thresholds.operatingPoints`, so the offline
 * evaluation compares recall at the same false-alarm rate.
 *
 *   tsx src/tools/calibrate.ts [--data FILE] [--target 0.1] [--write]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createLogger } from '../shared/logger';
import { numberFlag, parseScriptArgs, stringFlag } from '../cli/args';
import type { CoreParams } from '../core/params';
import { DEFAULT_PARAMS } from '../core/params';
import type { InterestMigration } from '../core/types';
import { guardsOf } from '../eval/baselines';
import type { OperatingPoint } from '../eval/evaluate';
import { CORE_VARIANTS, calibrateBaselines, calibrateBaselinesAt, realEvalSet } from '../eval/evaluate';
import { RecordingEncoder, rowsToEvents, runOffline } from '../eval/offline-run';
import { realisedShift } from '../eval/realised-shift';
import { readDataset } from '../io/datasets';
import { createOnnxEncoder } from '../model/onnx-encoder';

async function main(): Promise<void> {
  const args = parseScriptArgs({
    name: 'calibrate.ts',
    summary:
      'Calibrate drift and baseline thresholds on the train users; --write stores them in the model metadata.',
    usage: ['[--data F] [--model F] [--meta F] [--split F] [--target X] [--gap X] [--write]'],
    options: {
      data: { type: 'string', valueName: 'F', description: 'Taobao file' },
      model: { type: 'string', valueName: 'F', description: 'ONNX model' },
      meta: { type: 'string', valueName: 'F', description: 'model metadata' },
      split: { type: 'string', valueName: 'F', description: 'user split' },
      target: {
        type: 'string',
        valueName: 'X',
        description: 'share of stable train users alerted (default 0.1)',
      },
      gap: { type: 'string', valueName: 'X', description: 'enter − exit threshold gap (default 0.1)' },
      write: { type: 'boolean', description: 'write the thresholds into the model metadata' },
    },
  });
  const dataPath = stringFlag(args, 'data') ?? '../shared/data/taobao-userbehavior-users.csv.gz';
  const modelPath = stringFlag(args, 'model') ?? 'onnx/artifacts/encoder.onnx';
  const metaPath = stringFlag(args, 'meta') ?? 'onnx/artifacts/encoder.meta.json';
  const splitPath = stringFlag(args, 'split') ?? 'onnx/artifacts/split.json';
  const target = numberFlag(args, 'target', 0.1);
  const gap = numberFlag(args, 'gap', 0.1);

  const split = JSON.parse(readFileSync(splitPath, 'utf8')) as { train: string[] };
  const train = new Set(split.train);
  const ds = await readDataset(dataPath);
  const rows = ds.rows.filter((r) => train.has(r.userId));
  const labels = realisedShift(rows);
  const stable = [...labels.values()].filter((l) => l.label === 'stable');
  const shifters = [...labels.values()].filter((l) => l.label === 'shifter');
  const { encoder, manifest } = await createOnnxEncoder(
    { modelPath, manifestPath: metaPath, provider: 'cpu', intraOpThreads: 2 },
    createLogger('warn'),
  );
  const recording = new RecordingEncoder(encoder);
  const events = rowsToEvents(rows, 'taobao');
  interface GridPoint {
    enter: number;
    exit: number;
    stableAlertRate: number;
    shifterRecall: number;
    alertsPer1kEvents: number;
  }
  const sweep = async (embeddingWeight: number, from: number): Promise<GridPoint[]> => {
    const out: GridPoint[] = [];
    for (let enter = from; enter <= 0.701; enter += 0.025) out.push(await point(enter, embeddingWeight));
    return out;
  };
  const point = async (enter: number, embeddingWeight: number): Promise<GridPoint> => {
    const params: CoreParams = {
      ...DEFAULT_PARAMS,
      drift: {
        ...DEFAULT_PARAMS.drift,
        enterThreshold: Number(enter.toFixed(3)),
        exitThreshold: Number(Math.max(0.05, enter - gap).toFixed(3)),
        embeddingWeight,
      },
    };
    recording.rewind();
    const res = await runOffline(events, recording, manifest, params);
    const migrations = res.outputs.flatMap((o) =>
      o.kind === 'migration' ? [o.value as InterestMigration] : [],
    );
    const alerted = new Set(migrations.map((m) => m.userId));
    const caught = new Set(
      migrations
        .filter((m) => {
          const l = labels.get(m.userId);
          return l?.label === 'shifter' && m.detectedAtEventTimeMs >= l.changeTimeMs;
        })
        .map((m) => m.userId),
    );
    return {
      enter: params.drift.enterThreshold,
      exit: params.drift.exitThreshold,
      stableAlertRate: stable.filter((s) => alerted.has(s.userId)).length / Math.max(1, stable.length),
      shifterRecall: caught.size / Math.max(1, shifters.length),
      alertsPer1kEvents: (migrations.length / Math.max(1, res.processed)) * 1000,
    };
  };
  const grid = await sweep(DEFAULT_PARAMS.drift.embeddingWeight, 0.15);
  const chosen = grid.find((g) => g.stableAlertRate <= target) ?? grid[grid.length - 1];
  if (!chosen) throw new Error('empty grid');
  const trainSet = realEvalSet('train', rows, manifest.inactivityHorizonMs);
  const guards = guardsOf({ ...DEFAULT_PARAMS.drift, enterThreshold: gap, exitThreshold: 0 });
  const baselines = calibrateBaselines(trainSet, guards, target);
  // Matched budgets for every method of the evaluation, the ablations included.
  const budgets = [0.05, 0.1];
  const variantGrids = new Map<string, GridPoint[]>();
  for (const v of CORE_VARIANTS) {
    variantGrids.set(v.name, v.embeddingWeight === null ? grid : await sweep(v.embeddingWeight, 0.025));
  }
  const baselinesAt = calibrateBaselinesAt(trainSet, guards, budgets);
  const operatingPoints: OperatingPoint[] = budgets.map((budget, k) => {
    const params: Record<string, number> = {};
    const trainStableAlertRate: Record<string, number> = {};
    for (const [name, g] of variantGrids) {
      const pick = g.find((x) => x.stableAlertRate <= budget) ?? g.at(-1);
      if (!pick) throw new Error(`empty grid for ${name}`);
      params[name] = pick.enter;
      trainStableAlertRate[name] = Number(pick.stableAlertRate.toFixed(4));
    }
    for (const [name, b] of Object.entries(baselinesAt[k] ?? {})) {
      params[name] = b.param;
      trainStableAlertRate[name] = Number(b.stableAlertRate.toFixed(4));
    }
    return { budget, params, trainStableAlertRate };
  });
  const table = [
    '| enter | exit | stable users alerted | shifters caught (2nd half) | alerts / 1k events |',
    '| ---: | ---: | ---: | ---: | ---: |',
    ...grid.map(
      (g) =>
        `| ${g.enter.toFixed(3)} | ${g.exit.toFixed(3)} | ${(g.stableAlertRate * 100).toFixed(1)} % | ${(g.shifterRecall * 100).toFixed(1)} % | ${g.alertsPer1kEvents.toFixed(2)} |${g === chosen ? ' ← chosen' : ''}`,
    ),
  ].join('\n');
  process.stdout.write(
    `train users: ${labels.size} (${stable.length} stable, ${shifters.length} shifters), ${events.length} events\n` +
      `target: at most ${(target * 100).toFixed(0)} % of stable users alerted\n\n${table}\n\n` +
      `\nbaselines, same rule:\n${Object.entries(baselines)
        .map(
          ([k, b]) =>
            `  ${k}: ${b.param} (stable users alerted ${(b.stableAlertRate * 100).toFixed(1)} %${b.targetMet ? '' : ', target NOT reachable on this grid'})`,
        )
        .join('\n')}\n` +
      `\nmatched budgets (parameter, stable train users alerted):\n${operatingPoints
        .map(
          (op) =>
            `  ${(op.budget * 100).toFixed(0)} %: ${Object.entries(op.params)
              .map(([k, v]) => `${k} ${v} (${((op.trainStableAlertRate[k] ?? NaN) * 100).toFixed(1)} %)`)
              .join('; ')}`,
        )
        .join('\n')}\n`,
  );
  if (args.flags.has('write')) {
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as Record<string, unknown>;
    meta.thresholds = {
      drift: { enterThreshold: chosen.enter, exitThreshold: chosen.exit },
      operatingPoints,
      baselines: Object.fromEntries(Object.entries(baselines).map(([k, b]) => [k, b.param])),
      calibration: {
        tool: 'src/tools/calibrate.ts',
        data: dataPath.split('/').pop(),
        users: 'train split',
        stableUsers: stable.length,
        shifters: shifters.length,
        targetStableAlertRate: target,
        stableAlertRate: Number(chosen.stableAlertRate.toFixed(4)),
        shifterRecall: Number(chosen.shifterRecall.toFixed(4)),
        alertsPer1kEvents: Number(chosen.alertsPer1kEvents.toFixed(3)),
        baselines: Object.fromEntries(
          Object.entries(baselines).map(([k, b]) => [
            k,
            { stableAlertRate: Number(b.stableAlertRate.toFixed(4)), targetMet: b.targetMet },
          ]),
        ),
      },
    };
    writeFileSync(metaPath, `${JSON.stringify(meta, null, 1)}\n`);
    process.stdout.write(`\nwrote thresholds to ${metaPath}\n`);
  }
  await encoder.dispose();
}

main().catch((e: unknown) => {
  process.stderr.write(`${String(e)}\n`);
  process.exit(1);
});
