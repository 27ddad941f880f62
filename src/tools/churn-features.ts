/**
 * Writes the churn hazard's training data: every known user of one split at every 6 h checkpoint
 * of event time (the checkpoints of the offline evaluation), replayed through the live topology,
 * with the hazard features of core/churn-hazard.ts and the label "no event within 24 h".
 * onnx/train_churn_hazard.py reads it; it trains on the train users and chooses on valid.
 *
 *   tsx src/tools/churn-features.ts [--data F] [--split F] [--users train] --out PREFIX
 *
 * Output (little-endian): PREFIX.features.f64 (points × features), PREFIX.points.i32 (points ×
 * [user index, checkpoint index, label, idle hours rounded down]), PREFIX.encoder-state.f64
 * (points × [hidden state, short-horizon embedding, long-horizon embedding] after the user's last
 * event: inputs the trainer explores beyond the hazard's own), PREFIX.json (names, counts, widths).
 */
import { writeFileSync } from 'node:fs';
import { DEFAULT_DATA, DEFAULT_SPLIT, committedEncoder, runTool, splitRows } from './split-inputs';
import { parseScriptArgs, stringFlag } from '../cli/args';
import { HAZARD_FEATURES, hazardFeatures } from '../core/churn-hazard';
import { DEFAULT_PARAMS } from '../core/params';
import { CHURN_CHECKPOINT_MS, realEvalSet, walkChurnCheckpoints } from '../eval/evaluate';

const HOUR_MS = 3_600_000;

async function main(): Promise<void> {
  const args = parseScriptArgs({
    name: 'churn-features.ts',
    summary: "Write the churn hazard's training features for one split's users.",
    usage: ['[--data F] [--split F] [--users train] --out PREFIX'],
    options: {
      data: { type: 'string', valueName: 'F', description: 'Taobao file' },
      split: { type: 'string', valueName: 'F', description: 'user split' },
      users: { type: 'string', valueName: 'NAME', description: 'split entry (default train)' },
      out: { type: 'string', valueName: 'PREFIX', description: 'output path prefix' },
    },
  });
  const out = stringFlag(args, 'out');
  if (!out) throw new Error('--out PREFIX is required');
  const dataPath = stringFlag(args, 'data') ?? DEFAULT_DATA;
  const splitPath = stringFlag(args, 'split') ?? DEFAULT_SPLIT;
  const which = stringFlag(args, 'users') ?? 'train';
  const rows = await splitRows(dataPath, splitPath, which);
  const { encoder, manifest } = await committedEncoder();
  const params = DEFAULT_PARAMS;
  const spec = {
    horizonMs: manifest.inactivityHorizonMs,
    recentRateHalfLifeMs: params.recentRateHalfLifeMs,
    baselineRateHalfLifeMs: params.baselineRateHalfLifeMs,
  };
  const set = realEvalSet(which, rows, manifest.inactivityHorizonMs);
  const userIndex = new Map<string, number>();
  const checkpoints = new Map<number, number>();
  const features: number[] = [];
  const points: number[] = [];
  const encoderState: number[] = [];
  let widths: number[] | undefined;
  await walkChurnCheckpoints(set, encoder, manifest, params, CHURN_CHECKPOINT_MS, (s, t, label) => {
    if (!userIndex.has(s.userId)) userIndex.set(s.userId, userIndex.size);
    if (!checkpoints.has(t)) checkpoints.set(t, checkpoints.size);
    features.push(...hazardFeatures(s, t, spec));
    points.push(
      userIndex.get(s.userId) as number,
      checkpoints.get(t) as number,
      label ? 1 : 0,
      Math.floor((t - s.lastEventTimeMs) / HOUR_MS),
    );
    // Every user at a checkpoint has had an event, so the encoder has run for it.
    const vectors = [s.hidden, s.shortEmbedding, s.longEmbedding];
    const w = vectors.map((v) => v?.length ?? -1);
    widths ??= w;
    if (w.some((n, i) => n < 0 || n !== widths?.[i]))
      throw new Error(`encoder state widths ${w.join('/')} (-1: none) differ from ${widths.join('/')}`);
    for (const v of vectors) encoderState.push(...(v ?? []));
  });
  await encoder.dispose();
  writeFileSync(`${out}.features.f64`, Float64Array.from(features));
  writeFileSync(`${out}.points.i32`, Int32Array.from(points));
  writeFileSync(`${out}.encoder-state.f64`, Float64Array.from(encoderState));
  writeFileSync(
    `${out}.json`,
    JSON.stringify(
      {
        users: which,
        features: HAZARD_FEATURES,
        points: points.length / 4,
        encoderState: { hidden: widths?.[0], shortEmbedding: widths?.[1], longEmbedding: widths?.[2] },
        spec,
        modelVersion: manifest.modelVersion,
      },
      null,
      2,
    ) + '\n',
  );
  process.stderr.write(
    `[churn-features] ${which}: ${points.length / 4} points, ${userIndex.size} users → ${out}.*\n`,
  );
}

runTool(main);
