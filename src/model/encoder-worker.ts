/**
 * Entry of the encoder's worker thread (encoder-thread.ts): loads the ONNX session with the
 * options in workerData and runs each packed call it is sent, one at a time, in arrival order.
 *
 * Messages in:  { id, packed: PackedRows, withLogits } | { dispose: true }
 * Messages out: { ready: { provider, fallbackReason } } | { loadError: WorkerError }
 *               | { id, raw: RawOutputs } | { id, error: WorkerError }
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isProcessorError } from '../shared/errors';
import { createLogger } from '../shared/logger';
import type { LogLevel } from '../shared/logger';
import type { OnnxEncoder, OnnxEncoderOptions, PackedRows } from './onnx-encoder';
import { createOnnxEncoder } from './onnx-encoder';

export interface WorkerError {
  readonly code: string | null;
  readonly message: string;
}

export interface EncoderWorkerData {
  readonly options: Omit<OnnxEncoderOptions, 'onProvider'>;
  readonly logLevel: LogLevel;
}

function asWorkerError(e: unknown): WorkerError {
  return { code: isProcessorError(e) ? e.code : null, message: e instanceof Error ? e.message : String(e) };
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('encoder-worker.ts runs as a worker thread only');
  const data = workerData as EncoderWorkerData;
  let encoder: OnnxEncoder;
  try {
    ({ encoder } = await createOnnxEncoder(
      {
        ...data.options,
        onProvider: (provider, fallbackReason) => port.postMessage({ ready: { provider, fallbackReason } }),
      },
      createLogger(data.logLevel),
    ));
  } catch (e) {
    port.postMessage({ loadError: asWorkerError(e) });
    return;
  }
  // Calls run one after the other, as on the main thread before: the session is not shared.
  let queue = Promise.resolve();
  port.on('message', (m: { id: number; packed: PackedRows; withLogits: boolean } | { dispose: true }) => {
    if ('dispose' in m) {
      queue = queue.then(async () => {
        await encoder.dispose();
        port.close();
      });
      return;
    }
    queue = queue.then(async () => {
      try {
        const raw = await encoder.run(m.packed, m.withLogits);
        port.postMessage({ id: m.id, raw }, [raw.h.buffer, raw.embedding.buffer, raw.inactivityLogit.buffer]);
      } catch (e) {
        port.postMessage({ id: m.id, error: asWorkerError(e) });
      }
    });
  });
}

void main();
