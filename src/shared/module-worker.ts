/** Starts one of our modules on a worker thread, from the sources or from the build alike. */
import { Worker } from 'node:worker_threads';

/**
 * From a .ts module (tsx, jest) the worker registers tsx first, so it runs the same sources; the
 * build runs the compiled .js directly.
 *
 * @param entry the module's path without its extension (e.g. join(__dirname, 'http-worker'))
 * @param ext the caller's own extension (extname(__filename)): '.ts' or '.js'
 */
export function startModuleWorker(entry: string, ext: string, workerData: unknown): Worker {
  const file = `${entry}${ext}`;
  if (ext !== '.ts') return new Worker(file, { workerData });
  return new Worker(`require('tsx/cjs/api').register(); require(${JSON.stringify(file)});`, {
    eval: true,
    workerData,
  });
}
