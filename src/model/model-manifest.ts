/**
 * The model's metadata (onnx/artifacts/encoder.meta.json, written by onnx/export.py): version,
 * I/O signature, vocabularies, feature definitions, segments. Parsed and checked once at start-up;
 * a malformed or mismatched file is ProcessorError MODEL_INVALID (the service refuses to start).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ProcessorError } from '../shared/errors';

export interface TensorSpec {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly (string | number)[];
}

export interface Segment {
  readonly id: number;
  readonly label: string;
  readonly centroid: Float32Array;
  readonly topCategories: readonly { readonly id: string; readonly share: number }[];
}

export interface ModelManifest {
  readonly modelVersion: string;
  readonly opset: number;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  readonly hiddenSize: number;
  readonly embeddingDim: number;
  /** Vocabulary size V including padding (0) and out-of-vocabulary (1). */
  readonly vocabSize: number;
  readonly padIndex: number;
  readonly oovIndex: number;
  /** Raw category id → vocabulary index (≥ 2). Unknown ids map to oovIndex. */
  readonly categoryIndex: ReadonlyMap<string, number>;
  /** Vocabulary index → raw category id ('' for pad, '<oov>' for OOV). */
  readonly categoryIds: readonly string[];
  /** Event type name (lower case, e.g. 'view') → model index. */
  readonly eventTypeIndex: Readonly<Record<string, number>>;
  /** Gap feature: log1p(seconds since the previous event), clipped at clipSeconds. */
  readonly gapClipSeconds: number;
  readonly inactivityHorizonMs: number;
  readonly segments: readonly Segment[];
  /** Raw JSON for fields other modules read (thresholds, training info). */
  readonly raw: Readonly<Record<string, unknown>>;
}

export const REQUIRED_INPUTS = ['category_ids', 'event_types', 'log_gaps', 'lengths', 'h0'] as const;
export const REQUIRED_OUTPUTS = ['h', 'embedding', 'next_category_logits', 'inactivity_logit'] as const;

function fail(path: string, why: string): never {
  throw new ProcessorError('MODEL_INVALID', `model metadata ${path}: ${why}`);
}

function num(o: Record<string, unknown>, key: string, path: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, `${key} should be a number`);
  return v;
}

function obj(v: unknown, what: string, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, `${what} should be an object`);
  return v as Record<string, unknown>;
}

/** Parses metadata JSON text. `path` is only used in error messages. */
export function parseManifest(text: string, path = 'encoder.meta.json'): ModelManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ProcessorError('MODEL_INVALID', `model metadata ${path} is not JSON`, { cause: e });
  }
  const m = obj(json, 'the document', path);
  const modelVersion = m.modelVersion;
  if (typeof modelVersion !== 'string' || modelVersion.length === 0)
    fail(path, 'modelVersion should be a string');
  const tensors = (key: string): TensorSpec[] => {
    const list = m[key];
    if (!Array.isArray(list)) fail(path, `${key} should be a list`);
    return list.map((t, i) => {
      const s = obj(t, `${key}[${i}]`, path);
      if (typeof s.name !== 'string' || typeof s.dtype !== 'string' || !Array.isArray(s.shape)) {
        fail(path, `${key}[${i}] needs name, dtype, shape`);
      }
      return { name: s.name, dtype: s.dtype, shape: s.shape as (string | number)[] };
    });
  };
  const inputs = tensors('inputs');
  const outputs = tensors('outputs');
  for (const n of REQUIRED_INPUTS) if (!inputs.some((t) => t.name === n)) fail(path, `missing input ${n}`);
  for (const n of REQUIRED_OUTPUTS) if (!outputs.some((t) => t.name === n)) fail(path, `missing output ${n}`);

  const vocab = obj(m.categoryVocab, 'categoryVocab', path);
  const padIndex = num(vocab, 'padIndex', path);
  const oovIndex = num(vocab, 'oovIndex', path);
  const ids = vocab.ids;
  if (!Array.isArray(ids) || ids.some((x) => typeof x !== 'string'))
    fail(path, 'categoryVocab.ids should be strings');
  const firstIndex = Math.max(padIndex, oovIndex) + 1;
  const categoryIds: string[] = [];
  categoryIds[padIndex] = '';
  categoryIds[oovIndex] = '<oov>';
  const categoryIndex = new Map<string, number>();
  (ids as string[]).forEach((id, i) => {
    categoryIndex.set(id, firstIndex + i);
    categoryIds[firstIndex + i] = id;
  });

  const eventTypeIndex = obj(m.eventTypeIndex, 'eventTypeIndex', path) as Record<string, number>;
  for (const t of ['view', 'click', 'cart', 'favorite', 'purchase']) {
    if (typeof eventTypeIndex[t] !== 'number') fail(path, `eventTypeIndex.${t} missing`);
  }
  const gap = obj(m.gapFeature, 'gapFeature', path);
  if (gap.kind !== 'log1p_seconds') fail(path, `gapFeature.kind ${String(gap.kind)} is not supported`);
  const inactivity = obj(m.inactivity, 'inactivity', path);
  const hiddenSize = num(m, 'hiddenSize', path);
  const embeddingDim = num(m, 'embeddingDim', path);

  const segList = m.segments;
  if (!Array.isArray(segList) || segList.length === 0) fail(path, 'segments should be a non-empty list');
  const segments = segList.map((s, i) => {
    const o = obj(s, `segments[${i}]`, path);
    const centroid = o.centroid;
    if (!Array.isArray(centroid) || centroid.length !== embeddingDim) {
      fail(path, `segments[${i}].centroid should have ${embeddingDim} numbers`);
    }
    return {
      id: num(o, 'id', path),
      label: typeof o.label === 'string' ? o.label : `segment ${i}`,
      centroid: Float32Array.from(centroid as number[]),
      topCategories: Array.isArray(o.topCategories)
        ? (o.topCategories as { id: string; share: number }[]).map((c) => ({
            id: String(c.id),
            share: Number(c.share),
          }))
        : [],
    };
  });

  return {
    modelVersion,
    opset: num(m, 'opset', path),
    inputs,
    outputs,
    hiddenSize,
    embeddingDim,
    vocabSize: firstIndex + ids.length,
    padIndex,
    oovIndex,
    categoryIndex,
    categoryIds,
    eventTypeIndex,
    gapClipSeconds: num(gap, 'clipSeconds', path),
    inactivityHorizonMs: num(inactivity, 'horizonMs', path),
    segments,
    raw: m,
  };
}

export function loadManifest(path: string): ModelManifest {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ProcessorError('MODEL_INVALID', `cannot read model metadata ${path}`, { cause: e });
  }
  return parseManifest(text, path);
}

/** Checks that the model file is the one the metadata describes (version suffix = sha256 prefix). */
export function checkModelFile(manifest: ModelManifest, modelBytes: Buffer): void {
  const suffix = manifest.modelVersion.split('+')[1];
  if (!suffix) return;
  const digest = createHash('sha256').update(modelBytes).digest('hex');
  if (!digest.startsWith(suffix)) {
    throw new ProcessorError(
      'MODEL_INVALID',
      `model file sha256 ${digest.slice(0, 8)} does not match metadata version ${manifest.modelVersion}`,
    );
  }
}

/** The gap feature for an event `gapMs` after the user's previous one (0 for a first event). */
export function gapFeature(manifest: ModelManifest, gapMs: number | null): number {
  if (gapMs === null || gapMs <= 0) return 0;
  return Math.log1p(Math.min(gapMs / 1000, manifest.gapClipSeconds));
}
