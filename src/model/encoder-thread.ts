/**
 * The encoder on a worker thread: the same ONNX session and calls as onnx-encoder.ts, run off
 * the event loop. Rows are packed here and the typed arrays move to the worker and back (no
 * copies), so the main thread pays packing and a message each way; the model call itself no
 * longer blocks Kafka I/O, other partitions' processing or the HTTP API.
 *
 * Why: session.run() is synchronous inside onnxruntime-node, and at the service's batch sizes it
 * was about a tenth of the main thread (`make bench-e2e` profile); the processor is bound by its
 * main thread.
 *
 * Failure classes as before: a bad feed rejects that call with MODEL_FEED_INVALID; a model that
 * does not load rejects the start with the worker's code; a worker that dies is a bug, and every
 * call in flight and after it rejects with INVARIANT_VIOLATED (fatal).
 */
import { extname, join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { ErrorCode } from '../shared/errors';
import { ErrorCodes, ProcessorError } from '../shared/errors';
import type { Logger, LogLevel } from '../shared/logger';
import { startModuleWorker } from '../shared/module-worker';
import type { EncodeOptions, Encoder, EncoderRow, EncoderRowOutput } from './encoder';
import type { EncoderWorkerData, WorkerError } from './encoder-worker';
import type { ActiveProvider } from './execution-providers';
import type { ModelManifest } from './model-manifest';
import { loadManifest } from './model-manifest';
import type { OnnxEncoderOptions, RawOutputs } from './onnx-encoder';
import { packRows, unpackRows } from './onnx-encoder';

export interface ThreadedEncoderOptions extends OnnxEncoderOptions {
  /** The worker's log level (its only log line is "encoder loaded"). */
  readonly logLevel: LogLevel;
}

type Reply =
  | { ready: { provider: ActiveProvider; fallbackReason: string | null } }
  | { loadError: WorkerError }
  | { id: number; raw: RawOutputs }
  | { id: number; error: WorkerError };

function toError(e: WorkerError): ProcessorError {
  const code = (e.code !== null && e.code in ErrorCodes ? e.code : 'INVARIANT_VIOLATED') as ErrorCode;
  return new ProcessorError(code, e.message);
}

export async function createThreadedEncoder(
  opts: ThreadedEncoderOptions,
  logger: Logger,
): Promise<{ encoder: Encoder; manifest: ModelManifest }> {
  const manifest = loadManifest(opts.manifestPath);
  const { onProvider, logLevel, ...options } = opts;
  const worker = startModuleWorker(join(__dirname, 'encoder-worker'), extname(__filename), {
    options,
    logLevel,
  } satisfies EncoderWorkerData);
  const ready = await new Promise<{ provider: ActiveProvider; fallbackReason: string | null }>(
    (resolve, reject) => {
      const fail = (e: unknown): void =>
        reject(new ProcessorError('MODEL_INVALID', 'the encoder worker did not start', { cause: e }));
      worker.once('error', fail);
      worker.once('exit', (code) => fail(new Error(`exit code ${code}`)));
      worker.once('message', (m: Reply) => {
        worker.removeAllListeners('error');
        worker.removeAllListeners('exit');
        if ('ready' in m) resolve(m.ready);
        else if ('loadError' in m) reject(toError(m.loadError));
        else reject(new ProcessorError('INVARIANT_VIOLATED', 'encoder worker answered before it was ready'));
      });
    },
  ).catch(async (e: unknown) => {
    await worker.terminate();
    throw e;
  });
  onProvider?.(ready.provider, ready.fallbackReason);
  logger.child('model').info('encoder on a worker thread', { provider: ready.provider });
  return { encoder: new ThreadedEncoder(worker, manifest, ready.provider), manifest };
}

class ThreadedEncoder implements Encoder {
  private nextId = 0;
  private readonly pending = new Map<
    number,
    { resolve: (r: RawOutputs) => void; reject: (e: Error) => void }
  >();
  private failure: ProcessorError | null = null;
  private disposed = false;

  constructor(
    private readonly worker: Worker,
    private readonly manifest: ModelManifest,
    readonly provider: ActiveProvider,
  ) {
    worker.on('message', (m: Reply) => {
      if (!('id' in m)) return;
      const call = this.pending.get(m.id);
      if (!call) return;
      this.pending.delete(m.id);
      if ('raw' in m) call.resolve(m.raw);
      else call.reject(toError(m.error));
    });
    const died = (why: string): void => {
      if (this.disposed) return;
      this.failure = new ProcessorError('INVARIANT_VIOLATED', `the encoder worker ${why}`);
      for (const call of this.pending.values()) call.reject(this.failure);
      this.pending.clear();
    };
    worker.on('error', (e: Error) => died(`failed: ${e.message}`));
    worker.on('exit', (code) => died(`exited with code ${code}`));
  }

  async encode(rows: readonly EncoderRow[], options: EncodeOptions = {}): Promise<EncoderRowOutput[]> {
    if (this.disposed) throw new ProcessorError('INVARIANT_VIOLATED', 'encode() after dispose()');
    if (this.failure) throw this.failure;
    if (rows.length === 0) return [];
    const withLogits = options.withLogits === true;
    const packed = packRows(rows, this.manifest);
    const id = this.nextId++;
    const raw = await new Promise<RawOutputs>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, packed, withLogits }, [
        packed.cats.buffer,
        packed.types.buffer,
        packed.gaps.buffer,
        packed.lengths.buffer,
        packed.h0.buffer,
      ]);
    });
    return unpackRows(rows.length, raw, this.manifest, withLogits);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ dispose: true });
    await exited;
  }
}
