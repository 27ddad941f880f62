/**
 * What the training-data tools share: one split's users of the real data, the committed encoder,
 * and a main() that reports a failure in one line with exit code 1.
 */
import { readFileSync } from 'node:fs';
import type { DatasetRow } from '../io/datasets';
import { readDataset } from '../io/datasets';
import type { Encoder } from '../model/encoder';
import type { ModelManifest } from '../model/model-manifest';
import { createOnnxEncoder } from '../model/onnx-encoder';
import { createLogger } from '../shared/logger';

export const DEFAULT_DATA = '../shared/data/taobao-userbehavior-users.csv.gz';
export const DEFAULT_SPLIT = 'onnx/artifacts/split.json';

/** The rows of the users in entry `which` of the split file (train | valid | test). */
export async function splitRows(dataPath: string, splitPath: string, which: string): Promise<DatasetRow[]> {
  const split = JSON.parse(readFileSync(splitPath, 'utf8')) as Record<string, string[]>;
  const keep = new Set(split[which] ?? []);
  if (keep.size === 0) throw new Error(`split ${splitPath} has no "${which}" users`);
  const ds = await readDataset(dataPath);
  return ds.rows.filter((r) => keep.has(r.userId));
}

/** The committed encoder on the CPU provider. */
export function committedEncoder(): Promise<{ encoder: Encoder; manifest: ModelManifest }> {
  return createOnnxEncoder(
    {
      modelPath: 'onnx/artifacts/encoder.onnx',
      manifestPath: 'onnx/artifacts/encoder.meta.json',
      provider: 'cpu',
      intraOpThreads: 2,
    },
    createLogger('warn'),
  );
}

export function runTool(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
