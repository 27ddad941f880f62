/**
 * `make bench-encoder`: throughput and event-loop impact of the ONNX encoder, written to
 * test/bench/results/encoder-<provider>.{json,md}. A benchmark, not a test: it asserts nothing;
 * it measures, in one run, so the ratios are comparable on a noisy machine.
 *
 *   tsx test/bench/encoder.bench.ts [--provider cpu|cuda|auto] [--seconds 2] [--out DIR]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createLogger } from '../../src/shared/logger';
import { numberFlag, parseScriptArgs, stringFlag } from '../../src/cli/args';
import type { EncoderRow } from '../../src/model/encoder';
import type { ProviderChoice } from '../../src/model/execution-providers';
import { createOnnxEncoder } from '../../src/model/onnx-encoder';
import { rng } from '../../src/sim/simulator';
import { quantile } from '../../src/eval/metrics';

const args = parseScriptArgs({
  name: 'encoder.bench.ts',
  summary: 'Encoder benchmark: events/s by batch size, incremental vs re-encode, event-loop delay.',
  usage: ['[--provider cpu|cuda|auto] [--seconds S] [--threads N] [--model F] [--meta F] [--out DIR]'],
  options: {
    provider: { type: 'string', valueName: 'P', description: 'execution provider (default cpu)' },
    seconds: { type: 'string', valueName: 'S', description: 'seconds per measurement (default 2)' },
    threads: { type: 'string', valueName: 'N', description: 'intra-op threads (default 1)' },
    model: {
      type: 'string',
      valueName: 'F',
      description: 'ONNX model (default onnx/artifacts/encoder.onnx)',
    },
    meta: {
      type: 'string',
      valueName: 'F',
      description: 'model metadata (default onnx/artifacts/encoder.meta.json)',
    },
    out: { type: 'string', valueName: 'DIR', description: 'results folder (default test/bench/results)' },
  },
});
const provider = (stringFlag(args, 'provider') ?? 'cpu') as ProviderChoice;
const seconds = numberFlag(args, 'seconds', 2);
const outDir = stringFlag(args, 'out') ?? join(__dirname, 'results');
const modelPath = stringFlag(args, 'model') ?? 'onnx/artifacts/encoder.onnx';
const metaPath = stringFlag(args, 'meta') ?? 'onnx/artifacts/encoder.meta.json';

async function main(): Promise<void> {
  const { encoder, manifest } = await createOnnxEncoder(
    { modelPath, manifestPath: metaPath, provider, intraOpThreads: numberFlag(args, 'threads', 1) },
    createLogger('warn'),
  );
  const r = rng(42);
  const H = manifest.hiddenSize;
  const randomRow = (t: number, withState: boolean): EncoderRow => ({
    categoryIndices: Array.from({ length: t }, () => 2 + Math.floor(r() * (manifest.vocabSize - 2))),
    eventTypeIndices: Array.from({ length: t }, () => 1 + Math.floor(r() * 4)),
    logGaps: Array.from({ length: t }, () => r() * 10),
    h0: withState ? Float32Array.from({ length: H }, () => r() * 2 - 1) : null,
  });

  /** Runs `rows` repeatedly for ~seconds; returns per-call durations (ms). */
  async function timeCalls(rows: EncoderRow[], budgetS: number): Promise<number[]> {
    for (let i = 0; i < 3; i++) await encoder.encode(rows);
    const durations: number[] = [];
    const end = performance.now() + budgetS * 1000;
    while (performance.now() < end || durations.length < 5) {
      const t0 = performance.now();
      await encoder.encode(rows);
      durations.push(performance.now() - t0);
    }
    return durations.sort((a, b) => a - b);
  }

  // 1. Incremental throughput by batch size: every row is one new event on a stored state.
  const sweep = [];
  for (const b of [1, 16, 128, 1024]) {
    const rows = Array.from({ length: b }, () => randomRow(1, true));
    const d = await timeCalls(rows, seconds);
    const total = d.reduce((s, x) => s + x, 0);
    sweep.push({
      batchSize: b,
      calls: d.length,
      eventsPerSecond: Math.round((b * d.length) / (total / 1000)),
      callMsP50: Number(quantile(d, 0.5).toFixed(3)),
      callMsP99: Number(quantile(d, 0.99).toFixed(3)),
    });
  }

  // 2. Incremental update vs re-encoding a 50-event window for every new event (batch 1 and 128).
  const incrementalVsWindow = [];
  for (const b of [1, 128]) {
    const inc = await timeCalls(
      Array.from({ length: b }, () => randomRow(1, true)),
      seconds,
    );
    const win = await timeCalls(
      Array.from({ length: b }, () => randomRow(50, false)),
      seconds,
    );
    const mean = (x: number[]): number => x.reduce((s, v) => s + v, 0) / x.length;
    incrementalVsWindow.push({
      batchSize: b,
      incrementalMsPerCall: Number(mean(inc).toFixed(4)),
      window50MsPerCall: Number(mean(win).toFixed(4)),
      speedup: Number((mean(win) / mean(inc)).toFixed(1)),
    });
  }

  // 3. Event-loop stall while encoding back to back at the batch sizes the processor uses.
  const stalls = [];
  for (const b of [128, 1024]) {
    const rows = Array.from({ length: b }, () => randomRow(1, true));
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      await encoder.encode(rows);
      await new Promise((res) => setImmediate(res));
    }
    h.disable();
    stalls.push({
      batchSize: b,
      loopDelayMsP50: Number((h.percentile(50) / 1e6).toFixed(2)),
      loopDelayMsP99: Number((h.percentile(99) / 1e6).toFixed(2)),
      loopDelayMsMax: Number((h.max / 1e6).toFixed(2)),
    });
  }
  await encoder.dispose();

  const result = {
    benchmark: 'encoder',
    date: new Date().toISOString(),
    modelVersion: manifest.modelVersion,
    requestedProvider: provider,
    activeProvider: encoder.provider,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '?', node: process.version },
    secondsPerPoint: seconds,
    sweep,
    incrementalVsWindow,
    eventLoopStall: stalls,
  };
  mkdirSync(outDir, { recursive: true });
  const base = join(outDir, `encoder-${encoder.provider}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
  const md = [
    `# Encoder benchmark (${encoder.provider}, requested ${provider})`,
    '',
    `${result.date}, model ${manifest.modelVersion}, ${result.machine.cpus} × ${result.machine.cpuModel}, Node ${process.version}.`,
    '',
    '| batch size | events/s | call p50 ms | call p99 ms |',
    '| ---: | ---: | ---: | ---: |',
    ...sweep.map((s) => `| ${s.batchSize} | ${s.eventsPerSecond} | ${s.callMsP50} | ${s.callMsP99} |`),
    '',
    '| batch size | incremental ms/call | re-encode 50-event window ms/call | incremental is × faster |',
    '| ---: | ---: | ---: | ---: |',
    ...incrementalVsWindow.map(
      (x) => `| ${x.batchSize} | ${x.incrementalMsPerCall} | ${x.window50MsPerCall} | ${x.speedup} |`,
    ),
    '',
    '| batch size | event-loop delay p50 ms | p99 ms | max ms |',
    '| ---: | ---: | ---: | ---: |',
    ...stalls.map(
      (x) => `| ${x.batchSize} | ${x.loopDelayMsP50} | ${x.loopDelayMsP99} | ${x.loopDelayMsMax} |`,
    ),
    '',
  ].join('\n');
  writeFileSync(`${base}.md`, md);
  process.stdout.write(`${md}\nwritten: ${base}.json, ${base}.md\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${String(e)}\n`);
  process.exit(1);
});
