/**
 * The lookup bench's load: autocannon (20 connections, a fixed overall rate) sends
 * GET /v1/users/{id}/interests over the given users, in a fixed stride, from a process of its
 * own, apart from the bench process, whose heap holds the simulated dataset and whose event loop
 * produces the paced input: neither the bench's garbage collection nor its producer then delays
 * a request or its timing.
 *
 * As a library: runLoad(spec). As the child it starts: node --import tsx lookup-load.ts SPEC.json,
 * which prints one JSON line (LoadResult).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { ROOT } from '../../system/lib/cluster';

export interface LoadSpec {
  /** Base URL, e.g. http://127.0.0.1:9464. */
  readonly url: string;
  /** Requests per second, all connections together. */
  readonly rate: number;
  readonly users: readonly string[];
  /** How long, or how many requests (`amount` wins when set). */
  readonly seconds: number;
  readonly amount?: number;
  /** Where the spec file goes. */
  readonly workDir: string;
}

export interface LoadResult {
  readonly requests: number;
  /** Mean requests per second achieved. */
  readonly average: number;
  /** Client latencies, ms. */
  readonly latencyMs: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly max: number;
  };
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
}

/** Runs one load in a child process and returns its result. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const specFile = join(spec.workDir, 'lookup-load.json');
  writeFileSync(specFile, JSON.stringify(spec));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', __filename, specFile], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out) as LoadResult)
        : reject(new Error(`lookup-load exited with ${code}`)),
    );
  });
}

async function child(specFile: string): Promise<void> {
  const spec = JSON.parse(readFileSync(specFile, 'utf8')) as LoadSpec;
  let k = 0;
  const result = await autocannon({
    url: spec.url,
    connections: 20,
    overallRate: spec.rate,
    ...(spec.amount === undefined ? { duration: spec.seconds } : { amount: spec.amount }),
    requests: [
      {
        method: 'GET',
        setupRequest: (req) => ({
          ...req,
          path: `/v1/users/${encodeURIComponent(spec.users[(k++ * 7919) % spec.users.length] as string)}/interests`,
        }),
      },
    ],
  });
  const out: LoadResult = {
    requests: result.requests.total,
    average: result.requests.average,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

if (require.main === module) void child(process.argv[2] as string);
