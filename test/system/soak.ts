/**
 * Soak: two processor processes on steady input at half the maximum measured in the same run,
 * with a rolling restart every --roll-minutes, for --minutes. Each --sample-seconds it records
 * per instance the RSS, V8 heap used and event-loop delay p99 (the service's own /metrics), and
 * the group's lag. Memory must level off: over the second half, the least-squares slope of the
 * instances' summed heap (and RSS) times the half's length must not exceed the noise (twice the
 * residual standard deviation, or 5 % of the mean, whichever is larger). Samples taken while an
 * instance restarts (no /metrics answer) are left out of the check.
 *
 *   make soak MINUTES=30        → test/system/results/soak.{md,json,svg}
 *
 * Input: a fixed population of simulated users replayed in loops, event time moved forward a
 * loop at a time and event ids renamed per loop, so the state mix is steady and nothing is late.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseScriptArgs, stringFlag } from '../../src/cli/args';
import type { DatasetRow } from '../../src/io/datasets';
import { eventIdNamer } from '../../src/io/event-ids';
import { ClickstreamEventSchema } from '../../src/kafka/avro-types.gen';
import { toClickstreamEvent } from '../../src/kafka/replay-producer';
import { valueSubject } from '../../src/kafka/serde';
import { simulate } from '../../src/sim/simulator';
import { committedTotal, sleep } from '../support/committed-progress';
import { clusterFromEnv } from './lib/cluster';
import type { Profile } from './lib/scenario';
import { LOG_DIR, RESULTS_DIR, fmtS, processor, setup } from './lib/scenario';
import { processLives } from './lib/soak-lives';
import { linePlotSvg } from './lib/svg-plot';

interface Sample {
  readonly atS: number;
  readonly lag: number;
  readonly committedPerSec: number;
  /** heapMb: V8 heap used; heapTotalMb: heap V8 holds from the OS; externalMb: memory outside the
   *  heap that V8 knows of (Buffers, ArrayBuffers). RSS less these two is native memory: libuv,
   *  onnxruntime, malloc arenas. */
  readonly instances: {
    name: string;
    rssMb: number;
    heapMb: number;
    heapTotalMb: number;
    externalMb: number;
    loopP99Ms: number;
  }[];
}

const metric = (text: string, name: string): number => {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
};

/** Least-squares slope of y over x, and the residuals' standard deviation. */
export function trend(
  xs: readonly number[],
  ys: readonly number[],
): { slope: number; residualSd: number; mean: number } {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    sxx += ((xs[i] as number) - mx) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const res = ys.map((y, i) => y - (my + slope * ((xs[i] as number) - mx)));
  const residualSd = Math.sqrt(res.reduce((a, r) => a + r * r, 0) / Math.max(1, n - 2));
  return { slope, residualSd, mean: my };
}

async function main(): Promise<number> {
  const args = parseScriptArgs({
    name: 'test/system/soak.ts',
    summary:
      'Steady input at half the measured maximum with rolling restarts; memory, lag and event-loop delay sampled.',
    usage: ['[--minutes 30] [--roll-minutes 5] [--sample-seconds 60] [--users 20000]'],
    options: {
      minutes: { type: 'string', valueName: 'M', description: 'steady phase length (default 30)' },
      'roll-minutes': { type: 'string', valueName: 'M', description: 'rolling restart period (default 5)' },
      'sample-seconds': { type: 'string', valueName: 'S', description: 'sampling period (default 60)' },
      users: { type: 'string', valueName: 'N', description: 'simulated user population (default 20000)' },
    },
  });
  const minutes = Number(stringFlag(args, 'minutes') ?? '30');
  const rollMs = Number(stringFlag(args, 'roll-minutes') ?? '5') * 60_000;
  const sampleMs = Number(stringFlag(args, 'sample-seconds') ?? '60') * 1000;
  const users = Number(stringFlag(args, 'users') ?? '20000');
  const cluster = clusterFromEnv(process.env);
  rmSync(LOG_DIR, { recursive: true, force: true });
  mkdirSync(LOG_DIR, { recursive: true });
  mkdirSync(RESULTS_DIR, { recursive: true });

  const profile: Profile = { users: 10, days: 1, ratePerSec: 0, kills: 0 };
  const s = await setup(cluster, profile, 'soak');
  const topic = s.config.topics.input;
  const appId = s.config.appId;
  const base = simulate({ seed: 4242, users, days: 2, userPrefix: 'soak' }).rows;
  const spanMs = 2 * 86_400_000;
  const schemaId = await s.serde.register(valueSubject(topic), ClickstreamEventSchema);
  let loop = 0;
  let pos = 0;
  let namer = eventIdNamer('soak0');
  /** The next `n` input records, in loops over the base population. */
  const next = (n: number): { key: string; value: Buffer }[] => {
    const out: { key: string; value: Buffer }[] = [];
    while (out.length < n) {
      if (pos >= base.length) {
        loop++;
        pos = 0;
        namer = eventIdNamer(`soak${loop}`);
      }
      const r = base[pos++] as DatasetRow;
      const row = { ...r, eventTimeMs: r.eventTimeMs + loop * spanMs };
      out.push({ key: row.userId, value: s.serde.encode(schemaId, toClickstreamEvent(row, namer(row))) });
    }
    return out;
  };
  const producer = cluster.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const send = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i += 5_000)
      await producer.send({ topic, acks: -1, messages: next(Math.min(5_000, n - i)) });
  };

  // 1. Maximum: a backlog, two instances, time to drain it.
  const backlog = 200_000;
  await send(backlog);
  const procs = [processor(s, 0), processor(s, 1)];
  const t0 = Date.now();
  for (const p of procs) p.start();
  while ((await committedTotal(cluster.kafka, appId, topic)) < backlog) await sleep(500);
  const maxRate = backlog / ((Date.now() - t0) / 1000);
  const rate = Math.round(maxRate / 2);
  process.stderr.write(
    `[soak] measured maximum ${Math.round(maxRate)} events/s; steady phase at ${rate}/s for ${minutes} min\n`,
  );

  // 2. Steady phase with rolling restarts and sampling.
  const samples: Sample[] = [];
  const restarts: number[] = [];
  const restartsBy = new Map<string, number[]>();
  const start = Date.now();
  const end = start + minutes * 60_000;
  let sent = backlog;
  let lastCommitted = backlog;
  let lastSampleAt = start;
  let nextSample = start + sampleMs;
  let nextRoll = start + rollMs;
  let rolling: Promise<void> | null = null;
  const roll = async (): Promise<void> => {
    for (const p of procs) {
      const atS = Math.round((Date.now() - start) / 1000);
      restarts.push(atS);
      restartsBy.set(p.name, [...(restartsBy.get(p.name) ?? []), atS]);
      await p.stop();
      p.start();
      const mark = Date.now();
      while (Date.now() - mark < 60_000 && !/partition ready/.test(p.log().slice(-20_000))) await sleep(200);
      await sleep(5_000);
    }
  };
  while (Date.now() < end) {
    const tick = Date.now();
    const due = Math.floor(((tick - start) / 1000) * rate) + backlog - sent;
    if (due > 0) {
      await send(due);
      sent += due;
    }
    if (tick >= nextRoll && !rolling) {
      rolling = roll().finally(() => (rolling = null));
      nextRoll += rollMs;
    }
    if (tick >= nextSample) {
      nextSample += sampleMs;
      const committed = await committedTotal(cluster.kafka, appId, topic).catch(() => lastCommitted);
      const instances = await Promise.all(
        procs.map(async (p) => {
          const text = await p.metrics();
          return {
            name: p.name,
            rssMb: metric(text, 'idrift_process_resident_memory_bytes') / 2 ** 20,
            heapMb: metric(text, 'idrift_nodejs_heap_size_used_bytes') / 2 ** 20,
            heapTotalMb: metric(text, 'idrift_nodejs_heap_size_total_bytes') / 2 ** 20,
            externalMb: metric(text, 'idrift_nodejs_external_memory_bytes') / 2 ** 20,
            loopP99Ms: metric(text, 'idrift_nodejs_eventloop_lag_p99_seconds') * 1000,
          };
        }),
      );
      samples.push({
        atS: Math.round((tick - start) / 1000),
        lag: sent - committed,
        committedPerSec: Math.round((committed - lastCommitted) / ((tick - lastSampleAt) / 1000)),
        instances,
      });
      lastCommitted = committed;
      lastSampleAt = tick;
      const last = samples[samples.length - 1] as Sample;
      process.stderr.write(
        `[soak] t=${last.atS} s lag ${last.lag} ${last.instances.map((i) => `${i.name} rss ${i.rssMb.toFixed(0)} MB heap ${i.heapMb.toFixed(0)}/${i.heapTotalMb.toFixed(0)} MB external ${i.externalMb.toFixed(0)} MB loop p99 ${i.loopP99Ms.toFixed(0)} ms`).join('; ')}\n`,
      );
    }
    await sleep(100);
  }
  await rolling;
  await producer.disconnect();
  for (const p of procs) await p.stop();

  // 3. Verdict and report.
  const complete = samples.filter((x) =>
    x.instances.every((i) => Number.isFinite(i.heapMb) && Number.isFinite(i.rssMb)),
  );
  const half = complete.filter((x) => x.atS >= (minutes * 60) / 2);
  const check = (
    pick: (x: Sample) => number,
  ): { slopePerMin: number; driftMb: number; noiseMb: number; flat: boolean } => {
    const t = trend(
      half.map((x) => x.atS / 60),
      half.map(pick),
    );
    const driftMb = Math.max(0, t.slope) * (minutes / 2); // growth is the concern, not shrinking
    const noiseMb = Math.max(2 * t.residualSd, 0.05 * t.mean);
    return { slopePerMin: t.slope, driftMb, noiseMb, flat: half.length >= 3 && driftMb <= noiseMb };
  };
  const heap = check((x) => x.instances.reduce((a, i) => a + i.heapMb, 0));
  const rss = check((x) => x.instances.reduce((a, i) => a + i.rssMb, 0));
  const maxLag = Math.max(0, ...samples.map((x) => x.lag));
  // Liveness: at half the measured maximum, restarts may cost a lag spike but never a backlog
  // of more than two minutes of input, and the run ends caught up to within one minute.
  const lagLimit = rate * 120;
  const endLimit = rate * 60;
  const finalLag = samples[samples.length - 1]?.lag ?? 0;
  const live = maxLag <= lagLimit && finalLag <= endLimit;
  const pass = heap.flat && rss.flat && live;
  const svg = linePlotSvg({
    title: `Soak: ${minutes} min at ${rate} events/s (half of ${Math.round(maxRate)}/s), rolling restarts every ${fmtS(rollMs)}`,
    xLabel: 'minutes',
    panels: [
      {
        yLabel: 'RSS (MB)',
        series: procs.map((p, k) => ({
          name: p.name,
          points: complete.map((x) => [x.atS / 60, x.instances[k]?.rssMb ?? NaN]),
        })),
      },
      {
        yLabel: 'V8 heap used (MB)',
        series: procs.map((p, k) => ({
          name: p.name,
          points: complete.map((x) => [x.atS / 60, x.instances[k]?.heapMb ?? NaN]),
        })),
      },
      {
        yLabel: 'event-loop delay p99 (ms)',
        series: procs.map((p, k) => ({
          name: p.name,
          points: complete.map((x) => [x.atS / 60, x.instances[k]?.loopP99Ms ?? NaN]),
        })),
      },
      {
        yLabel: 'lag (records)',
        series: [{ name: 'group lag', points: samples.map((x) => [x.atS / 60, x.lag]) }],
      },
    ],
    markers: restarts.map((r) => r / 60),
  });
  const livesOf = (pick: (i: Sample['instances'][number]) => number) =>
    processLives(
      new Map(
        procs.map((p) => [
          p.name,
          samples.map((x) => {
            const i = x.instances.find((j) => j.name === p.name);
            return { atS: x.atS, value: i ? pick(i) : Number.NaN };
          }),
        ]),
      ),
      restartsBy,
      30,
    );
  const rssLives = livesOf((i) => i.rssMb);
  const heapTotalLives = livesOf((i) => i.heapTotalMb);
  const fmt = (c: typeof heap): string =>
    `slope ${c.slopePerMin.toFixed(2)} MB/min → ${c.driftMb.toFixed(1)} MB over the second half, noise ${c.noiseMb.toFixed(1)} MB: ${c.flat ? 'levels off' : '**grows**'}`;
  const md = [
    `# Soak (${minutes} min)`,
    '',
    `Run ${new Date().toISOString()}: \`make soak MINUTES=${minutes}\`. Two processor processes, ${users} simulated users replayed in loops; measured maximum ${Math.round(maxRate)} events/s (a ${backlog}-record backlog drained by both), steady input at ${rate} events/s, a rolling restart of both instances every ${fmtS(rollMs)} (${restarts.length} restarts), a sample every ${fmtS(sampleMs)}.`,
    '',
    `**${pass ? 'PASS' : 'FAIL'}**: memory over the second half (summed over the instances): heap ${fmt(heap)}; RSS ${fmt(rss)}. Lag: largest ${maxLag} records (limit ${lagLimit}, two minutes of input), at the end ${finalLag} (limit ${endLimit}): ${live ? 'keeps up' : '**falls behind**'}.`,
    '',
    '![soak](soak.svg)',
    '',
    `Per process life (a diagnostic; the verdict above does not use it): each instance's samples cut at its restarts, those within 30 s of a restart left out. RSS inside lives: pooled slope ${rssLives.withinSlopePerMin.toFixed(2)} MB/min; life levels (medians) from ${rssLives.levelRange[0].toFixed(0)} to ${rssLives.levelRange[1].toFixed(0)} MB. V8 heap total: pooled slope ${heapTotalLives.withinSlopePerMin.toFixed(2)} MB/min, levels ${heapTotalLives.levelRange[0].toFixed(0)}–${heapTotalLives.levelRange[1].toFixed(0)} MB.`,
    '',
    '| instance | life from (s) | samples | RSS level (MB) | RSS last − first (MB) | heap total level (MB) |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rssLives.lives.map((l, k) => {
      const h = heapTotalLives.lives[k];
      return `| ${l.instance} | ${l.fromS} | ${l.samples} | ${l.level.toFixed(0)} | ${l.change.toFixed(0)} | ${h ? h.level.toFixed(0) : ''} |`;
    }),
    '',
    '| t (s) | lag | committed/s | ' +
      procs.map((p) => `${p.name} RSS / heap used / heap total / external (MB), loop p99 (ms)`).join(' | ') +
      ' |',
    '| ---: | ---: | ---: | ' + procs.map(() => '---').join(' | ') + ' |',
    ...samples.map(
      (x) =>
        `| ${x.atS} | ${x.lag} | ${x.committedPerSec} | ${x.instances.map((i) => `${i.rssMb.toFixed(0)} / ${i.heapMb.toFixed(0)} / ${i.heapTotalMb.toFixed(0)} / ${i.externalMb.toFixed(0)}, ${i.loopP99Ms.toFixed(0)}`).join(' | ')} |`,
    ),
    '',
  ].join('\n');
  writeFileSync(join(RESULTS_DIR, 'soak.md'), md);
  writeFileSync(join(RESULTS_DIR, 'soak.svg'), svg);
  writeFileSync(
    join(RESULTS_DIR, 'soak.json'),
    `${JSON.stringify(
      {
        minutes,
        maxRate,
        rate,
        restarts,
        restartsBy: Object.fromEntries(restartsBy),
        samples,
        heap,
        rss,
        rssLives,
        heapTotalLives,
        maxLag,
        finalLag,
        live,
        pass,
      },
      null,
      1,
    )}\n`,
  );
  process.stdout.write(`${md}\n`);
  return pass ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
      process.exit(1);
    },
  );
}
