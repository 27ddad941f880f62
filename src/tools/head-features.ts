/**
 * Writes the next-category head's training data: every position of the chosen split's users
 * (default: valid), each with its candidates' features (core/next-category-head.ts) and whether
 * the candidate is the category that came next. onnx/train_next_category_head.py reads it.
 *
 * Why valid users, not train: the encoder was trained on the train users, so its softmax is
 * overconfident on them (HR@10 0.730 there against 0.612 on valid). A head fitted on train users
 * learns to trust the model more than it deserves on users it has not seen.
 *
 *   tsx src/tools/head-features.ts [--data F] [--split F] [--users valid] --out PREFIX
 *
 * Output (little-endian): PREFIX.features.f32 (candidates × features), PREFIX.candidates.i32
 * (candidates × [position, is target]), PREFIX.positions.i32 (positions × [user, in-session
 * repeat]), PREFIX.json (feature names, counts).
 */
import { writeFileSync } from 'node:fs';
import { DEFAULT_DATA, DEFAULT_SPLIT, committedEncoder, runTool, splitRows } from './split-inputs';
import { parseScriptArgs, numberFlag, stringFlag } from '../cli/args';
import { HEAD_FEATURES, candidateFeatures } from '../core/next-category-head';
import { DEFAULT_PARAMS } from '../core/params';
import { isInSessionRepeat } from '../eval/next-category-baselines';
import { walkNextCategoryPositions } from '../eval/next-category-walk';

async function main(): Promise<void> {
  const args = parseScriptArgs({
    name: 'head-features.ts',
    summary: "Write the next-category head's training features for one split's users.",
    usage: ['[--data F] [--split F] [--users valid] [--model-candidates N] --out PREFIX'],
    options: {
      data: { type: 'string', valueName: 'F', description: 'Taobao file' },
      split: { type: 'string', valueName: 'F', description: 'user split' },
      users: { type: 'string', valueName: 'NAME', description: 'split entry (default valid)' },
      'model-candidates': {
        type: 'string',
        valueName: 'N',
        description: "model's top-N candidates (default 30)",
      },
      out: { type: 'string', valueName: 'PREFIX', description: 'output path prefix' },
    },
  });
  const out = stringFlag(args, 'out');
  if (!out) throw new Error('--out PREFIX is required');
  const dataPath = stringFlag(args, 'data') ?? DEFAULT_DATA;
  const splitPath = stringFlag(args, 'split') ?? DEFAULT_SPLIT;
  const which = stringFlag(args, 'users') ?? 'valid';
  const modelCandidates = numberFlag(args, 'model-candidates', 30);
  const rows = await splitRows(dataPath, splitPath, which);
  const { encoder, manifest } = await committedEncoder();
  const features: Float32Array[] = [];
  const candidates: number[] = [];
  const positions: number[] = [];
  await walkNextCategoryPositions(rows, encoder, manifest, DEFAULT_PARAMS, (p) => {
    const c = candidateFeatures(p.history, p.logits, manifest, modelCandidates);
    const position = positions.length / 2;
    features.push(Float32Array.from(c.features));
    for (const id of c.categoryIds) candidates.push(position, id === p.target.categoryId ? 1 : 0);
    positions.push(p.user, isInSessionRepeat(p.current, p.target) ? 1 : 0);
  });
  await encoder.dispose();
  const flat = new Float32Array((candidates.length / 2) * HEAD_FEATURES.length);
  let at = 0;
  for (const f of features) {
    flat.set(f, at);
    at += f.length;
  }
  writeFileSync(`${out}.features.f32`, flat);
  writeFileSync(`${out}.candidates.i32`, Int32Array.from(candidates));
  writeFileSync(`${out}.positions.i32`, Int32Array.from(positions));
  writeFileSync(
    `${out}.json`,
    JSON.stringify(
      {
        users: which,
        modelCandidates,
        features: HEAD_FEATURES,
        positions: positions.length / 2,
        candidates: candidates.length / 2,
        modelVersion: manifest.modelVersion,
      },
      null,
      2,
    ) + '\n',
  );
  process.stderr.write(
    `[head-features] ${which}: ${positions.length / 2} positions, ${candidates.length / 2} candidates → ${out}.*\n`,
  );
}

runTool(main);
