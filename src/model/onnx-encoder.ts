/**
 * The one module that imports onnxruntime-node (STYLE.md §14).
 *
 * createOnnxEncoder() loads the model and its manifest, picks the execution provider
 * (execution-providers.ts), checks the session's input/output names against the manifest, and
 * returns an Encoder. encode() packs rows into padded [B, T] tensors (T = longest row), runs one
 * session call, and slices the outputs per row. Errors name shapes and dtypes, never data.
 *
 * Threading: session.run() executes on the calling thread (onnxruntime-node runs natively inside
 * a setImmediate), so each call blocks that thread's event loop for its duration; `make
 * bench-encoder` measures that stall at our batch sizes. The service therefore runs it on a
 * worker thread (encoder-thread.ts), which calls OnnxEncoder.run on rows packed by packRows.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ProcessorError, describeError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { EncodeOptions, Encoder, EncoderRow, EncoderRowOutput } from './encoder';
import type { ActiveProvider, ProviderChoice } from './execution-providers';
import { cudaUnavailableReason, providerAttempts } from './execution-providers';
import type { ModelManifest } from './model-manifest';
import { REQUIRED_INPUTS, REQUIRED_OUTPUTS, checkModelFile, loadManifest } from './model-manifest';

export interface OnnxEncoderOptions {
  readonly modelPath: string;
  readonly manifestPath: string;
  readonly provider: ProviderChoice;
  /** Threads for one operator; default 1 so Kafka I/O keeps a core on a 2-core pod. */
  readonly intraOpThreads?: number;
  /** Called once with the provider that ran and, after a fallback, why CUDA did not. */
  readonly onProvider?: (active: ActiveProvider, fallbackReason: string | null) => void;
}

export interface LoadedEncoder {
  readonly encoder: OnnxEncoder;
  readonly manifest: ModelManifest;
}

function ortPackageDir(): string {
  return dirname(dirname(require.resolve('onnxruntime-node')));
}

export async function createOnnxEncoder(opts: OnnxEncoderOptions, logger: Logger): Promise<LoadedEncoder> {
  const log = logger.child('model');
  const manifest = loadManifest(opts.manifestPath);
  let modelBytes: Buffer;
  try {
    modelBytes = readFileSync(opts.modelPath);
  } catch (e) {
    throw new ProcessorError('MODEL_INVALID', `cannot read model ${opts.modelPath}`, { cause: e });
  }
  checkModelFile(manifest, modelBytes);

  const cudaReason = cudaUnavailableReason(ortPackageDir());
  const attempts = providerAttempts(opts.provider, cudaReason);
  let fallbackReason: string | null = opts.provider === 'auto' && cudaReason !== null ? cudaReason : null;
  if (opts.provider === 'cuda' && cudaReason !== null) {
    throw new ProcessorError(
      'MODEL_PROVIDER_UNAVAILABLE',
      `CUDA execution provider requested but ${cudaReason}`,
    );
  }
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: opts.intraOpThreads ?? 1,
    interOpNumThreads: 1,
    enableCpuMemArena: true,
    enableMemPattern: true,
  };
  let session: ort.InferenceSession | null = null;
  let active: ActiveProvider = 'cpu';
  for (const p of attempts) {
    try {
      session = await ort.InferenceSession.create(modelBytes, {
        ...base,
        executionProviders: p === 'cuda' ? [{ name: 'cuda', deviceId: 0 }] : ['cpu'],
      });
      active = p;
      break;
    } catch (e) {
      if (p === 'cuda' && attempts.includes('cpu')) {
        fallbackReason = `CUDA session failed: ${describeError(e)}`;
        log.warn('execution provider fallback to CPU', { reason: fallbackReason });
        continue;
      }
      throw new ProcessorError(
        p === 'cuda' ? 'MODEL_PROVIDER_UNAVAILABLE' : 'MODEL_INVALID',
        `cannot create an ONNX session on ${p}`,
        { cause: e },
      );
    }
  }
  if (!session) throw new ProcessorError('INVARIANT_VIOLATED', 'no execution provider attempt was made');
  for (const n of REQUIRED_INPUTS) {
    if (!session.inputNames.includes(n)) {
      throw new ProcessorError(
        'MODEL_INVALID',
        `model has inputs [${session.inputNames.join(', ')}], missing ${n}`,
      );
    }
  }
  for (const n of REQUIRED_OUTPUTS) {
    if (!session.outputNames.includes(n)) {
      throw new ProcessorError(
        'MODEL_INVALID',
        `model has outputs [${session.outputNames.join(', ')}], missing ${n}`,
      );
    }
  }
  log.info('encoder loaded', {
    modelVersion: manifest.modelVersion,
    provider: active,
    fallbackReason: fallbackReason ?? undefined,
    hiddenSize: manifest.hiddenSize,
    vocabSize: manifest.vocabSize,
  });
  opts.onProvider?.(active, fallbackReason);
  return { encoder: new OnnxEncoder(session, manifest, active), manifest };
}

/** Rows packed into the model's padded [B, T] inputs (packRows); plain typed arrays, so they can move to a worker. */
export interface PackedRows {
  readonly B: number;
  readonly T: number;
  readonly cats: BigInt64Array<ArrayBuffer>;
  readonly types: BigInt64Array<ArrayBuffer>;
  readonly gaps: Float32Array<ArrayBuffer>;
  readonly lengths: Int32Array<ArrayBuffer>;
  readonly h0: Float32Array<ArrayBuffer>;
}

/** One call's outputs, whole: h [B, H], embedding [B, E], inactivity logit [B], logits [B, V] or empty. */
export interface RawOutputs {
  readonly h: Float32Array<ArrayBuffer>;
  readonly embedding: Float32Array<ArrayBuffer>;
  readonly inactivityLogit: Float32Array<ArrayBuffer>;
  readonly logits: Float32Array;
}

/** Checks rows against the manifest and packs them (MODEL_FEED_INVALID names the row, never its data). */
export function packRows(rows: readonly EncoderRow[], manifest: ModelManifest): PackedRows {
  const { hiddenSize: H, vocabSize: V } = manifest;
  const B = rows.length;
  let T = 0;
  rows.forEach((r, i) => {
    const n = r.categoryIndices.length;
    if (n === 0 || r.eventTypeIndices.length !== n || r.logGaps.length !== n) {
      throw new ProcessorError(
        'MODEL_FEED_INVALID',
        `row ${i} has ${n} categories, ${r.eventTypeIndices.length} types, ${r.logGaps.length} gaps`,
        {
          context: { row: i },
        },
      );
    }
    if (r.h0 !== null && r.h0.length !== H) {
      throw new ProcessorError('MODEL_FEED_INVALID', `row ${i} h0 has ${r.h0.length} floats, expected ${H}`);
    }
    if (n > T) T = n;
  });
  const cats = new BigInt64Array(B * T);
  const types = new BigInt64Array(B * T);
  const gaps = new Float32Array(B * T);
  const lengths = new Int32Array(B);
  const h0 = new Float32Array(B * H);
  rows.forEach((r, b) => {
    const n = r.categoryIndices.length;
    lengths[b] = n;
    for (let t = 0; t < n; t++) {
      const c = r.categoryIndices[t] as number;
      const k = r.eventTypeIndices[t] as number;
      if (!Number.isInteger(c) || c <= 0 || c >= V || !Number.isInteger(k) || k <= 0) {
        throw new ProcessorError(
          'MODEL_FEED_INVALID',
          `row ${b} step ${t} has an index outside the vocabulary (V=${V})`,
        );
      }
      cats[b * T + t] = BigInt(c);
      types[b * T + t] = BigInt(k);
      gaps[b * T + t] = r.logGaps[t] as number;
    }
    if (r.h0) h0.set(r.h0, b * H);
  });
  return { B, T, cats, types, gaps, lengths, h0 };
}

/**
 * One output per row, as views of the call's outputs. Rows as views: a typed array over 64 bytes
 * is allocated off the V8 heap (about 0.9 µs each on node 24), so per-row copies cost two per
 * event; callers that keep a row beyond the batch copy it (applyEvent does).
 */
export function unpackRows(
  B: number,
  raw: RawOutputs,
  manifest: ModelManifest,
  withLogits: boolean,
): EncoderRowOutput[] {
  const { hiddenSize: H, embeddingDim: E, vocabSize: V } = manifest;
  const result: EncoderRowOutput[] = [];
  for (let b = 0; b < B; b++) {
    result.push({
      h: raw.h.subarray(b * H, (b + 1) * H),
      embedding: raw.embedding.subarray(b * E, (b + 1) * E),
      nextCategoryLogits: withLogits ? raw.logits.slice(b * V, (b + 1) * V) : new Float32Array(0),
      inactivityLogit: raw.inactivityLogit[b] as number,
    });
  }
  return result;
}

export class OnnxEncoder implements Encoder {
  private disposed = false;

  constructor(
    private readonly session: ort.InferenceSession,
    private readonly manifest: ModelManifest,
    readonly provider: ActiveProvider,
  ) {}

  async encode(rows: readonly EncoderRow[], options: EncodeOptions = {}): Promise<EncoderRowOutput[]> {
    if (this.disposed) throw new ProcessorError('INVARIANT_VIOLATED', 'encode() after dispose()');
    if (rows.length === 0) return [];
    const withLogits = options.withLogits === true;
    const raw = await this.run(packRows(rows, this.manifest), withLogits);
    return unpackRows(rows.length, raw, this.manifest, withLogits);
  }

  /** One session call on packed rows; h, embedding and inactivityLogit are copies this call owns. */
  async run(packed: PackedRows, withLogits: boolean): Promise<RawOutputs> {
    if (this.disposed) throw new ProcessorError('INVARIANT_VIOLATED', 'encode() after dispose()');
    const { hiddenSize: H, embeddingDim: E, vocabSize: V } = this.manifest;
    const { B, T } = packed;
    const feeds: Record<string, ort.Tensor> = {
      category_ids: new ort.Tensor('int64', packed.cats, [B, T]),
      event_types: new ort.Tensor('int64', packed.types, [B, T]),
      log_gaps: new ort.Tensor('float32', packed.gaps, [B, T]),
      lengths: new ort.Tensor('int32', packed.lengths, [B]),
      h0: new ort.Tensor('float32', packed.h0, [B, H]),
    };
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      // Fetching only what is needed lets onnxruntime skip the vocabulary-sized logits head.
      out = await this.session.run(
        feeds,
        withLogits ? [...REQUIRED_OUTPUTS] : ['h', 'embedding', 'inactivity_logit'],
      );
    } catch (e) {
      const shapes = Object.entries(feeds)
        .map(([k, t]) => `${k}:${t.type}[${t.dims.join(',')}]`)
        .join(' ');
      throw new ProcessorError('MODEL_FEED_INVALID', `session.run failed for feeds ${shapes}`, { cause: e });
    }
    // One copy per output and call for what rows keep as views: the copy keeps them valid
    // whatever onnxruntime does with its output buffers (unpackRows copies each row's logits).
    return {
      h: this.output(out, 'h', [B, H]).slice(),
      embedding: this.output(out, 'embedding', [B, E]).slice(),
      inactivityLogit: this.output(out, 'inactivity_logit', [B]).slice(),
      logits: withLogits ? this.output(out, 'next_category_logits', [B, V]) : new Float32Array(0),
    };
  }

  private output(out: ort.InferenceSession.OnnxValueMapType, name: string, dims: number[]): Float32Array {
    const t = out[name];
    if (!t || t.type !== 'float32' || t.dims.length !== dims.length || t.dims.some((d, i) => d !== dims[i])) {
      throw new ProcessorError(
        'MODEL_INVALID',
        `output ${name} is ${t ? `${t.type}[${t.dims.join(',')}]` : 'missing'}, expected float32[${dims.join(',')}]`,
      );
    }
    return t.data as Float32Array;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.release();
  }
}
