/**
 * Summarises V8 .cpuprofile files (node --cpu-prof): self time per function and per area
 * (a package under node_modules, a folder of src/, node internals, GC, idle). Self time of a
 * node = its sample count × the mean sampling interval of its file.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly hitCount?: number;
}

interface CpuProfile {
  readonly nodes: ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: number[];
}

export interface ProfileSummary {
  readonly files: number;
  readonly sampledMs: number;
  /** Samples not idle (waiting on I/O), ms; the percentages below are shares of this. */
  readonly busyMs: number;
  /**
   * Per profile file, in name order (node names them by thread: the main thread's first): an
   * idle worker thread (the encoder's) waits for calls, so idle time means I/O only on the main
   * thread, and each thread's busy share must be read apart.
   */
  readonly threads: { sampledMs: number; busyMs: number }[];
  readonly byArea: { area: string; percent: number }[];
  readonly topFunctions: { name: string; where: string; percent: number }[];
}

/**
 * A profiled file relative to the project: the compiled build's `dist/src/x/y.js` counts as its
 * source `src/x/y.ts`, so profiles of the build and of tsx runs read alike.
 */
export function sourceOf(url: string, root: string): string {
  if (!url) return '';
  const rel = relative(root, url.replace(/^file:\/\//, ''));
  const built = /^dist\/(src\/.*)\.js$/.exec(rel);
  return built ? `${built[1]}.ts` : rel;
}

export function areaOf(url: string, name: string, root: string): string {
  if (name === '(garbage collector)') return 'GC';
  if (name === '(idle)') return 'idle (waiting on I/O)';
  if (name === '(program)') return 'V8/native (program)';
  if (!url) return 'native / builtins';
  if (url.startsWith('node:')) return 'node internals';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1] as string;
  const rel = sourceOf(url, root);
  const m = /^src\/([^/]+)\//.exec(rel);
  return m ? `src/${m[1]}` : rel;
}

/** The .cpuprofile files node --cpu-prof wrote into `dir` (one per profiled thread). */
export function profileFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()
    .map((f) => join(dir, f));
}

export function summariseProfiles(files: readonly string[], root: string): ProfileSummary {
  const byFn = new Map<string, { name: string; where: string; ms: number }>();
  const byArea = new Map<string, number>();
  let sampledMs = 0;
  let busyMs = 0;
  const threads: { sampledMs: number; busyMs: number }[] = [];
  for (const f of files) {
    const before = { sampledMs, busyMs };
    const p = JSON.parse(readFileSync(f, 'utf8')) as CpuProfile;
    const intervalMs = p.samples.length > 0 ? (p.endTime - p.startTime) / 1000 / p.samples.length : 0;
    for (const n of p.nodes) {
      const ms = (n.hitCount ?? 0) * intervalMs;
      if (ms === 0) continue;
      sampledMs += ms;
      const { functionName, url, lineNumber } = n.callFrame;
      const name = functionName || '(anonymous)';
      const area = areaOf(url, name, root);
      byArea.set(area, (byArea.get(area) ?? 0) + ms);
      if (area.startsWith('idle')) continue;
      busyMs += ms;
      const file = sourceOf(url, root);
      // Our sources run compiled (or through tsx) without source maps in the profile: their line
      // numbers point into generated code, so only the file is shown for them.
      const where = !file
        ? area
        : file.startsWith('src/')
          ? file
          : `${file.replace(/^node_modules\//, '')}:${lineNumber + 1}`;
      const key = `${name}@${where}`;
      const e = byFn.get(key) ?? { name, where, ms: 0 };
      e.ms += ms;
      byFn.set(key, e);
    }
    threads.push({
      sampledMs: Math.round(sampledMs - before.sampledMs),
      busyMs: Math.round(busyMs - before.busyMs),
    });
  }
  const pct = (ms: number): number => (busyMs > 0 ? (100 * ms) / busyMs : 0);
  return {
    files: files.length,
    sampledMs: Math.round(sampledMs),
    busyMs: Math.round(busyMs),
    threads,
    byArea: [...byArea.entries()]
      .filter(([area]) => !area.startsWith('idle'))
      .map(([area, ms]) => ({ area, percent: pct(ms) }))
      .sort((a, b) => b.percent - a.percent),
    topFunctions: [...byFn.values()]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 25)
      .map((e) => ({ name: e.name, where: e.where, percent: pct(e.ms) })),
  };
}

interface TimedProfile extends CpuProfile {
  readonly nodes: (ProfileNode & { readonly children?: number[] })[];
  readonly timeDeltas: number[];
}

/** One stretch in which the event loop never went back to waiting on I/O. */
export interface LongTask {
  /** Start, seconds after the window's start. */
  readonly atS: number;
  readonly ms: number;
  /** Functions of src/ (and GC) on the stack for most of the stretch: inclusive ms, largest first. */
  readonly top: { readonly name: string; readonly where: string; readonly ms: number }[];
}

/**
 * The long tasks of one thread's profile: maximal runs of samples with no idle sample between
 * them, at least `minMs` long, starting inside [profile end − fromEndMs, profile end − toEndMs]
 * (a window given relative to the end, because the profile's clock is not the wall clock and
 * the profile ends when the process exits).
 */
export function longTasks(
  file: string,
  root: string,
  window: { readonly fromEndMs: number; readonly toEndMs: number },
  minMs: number,
): LongTask[] {
  const p = JSON.parse(readFileSync(file, 'utf8')) as TimedProfile;
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const label = (n: ProfileNode): { key: string; name: string; where: string } | null => {
    const name = n.callFrame.functionName || '(anonymous)';
    if (name === '(garbage collector)') return { key: name, name, where: 'GC' };
    const file = sourceOf(n.callFrame.url, root);
    return file.startsWith('src/') ? { key: `${name}@${file}`, name, where: file } : null;
  };
  const from = p.endTime - window.fromEndMs * 1000;
  const to = p.endTime - window.toEndMs * 1000;
  const out: LongTask[] = [];
  let run: {
    start: number;
    us: number;
    fns: Map<string, { name: string; where: string; us: number }>;
  } | null = null;
  const close = (): void => {
    if (run && run.us >= minMs * 1000 && run.start >= from && run.start <= to) {
      out.push({
        atS: Math.round((run.start - from) / 100_000) / 10,
        ms: Math.round(run.us / 1000),
        top: [...run.fns.values()]
          .sort((a, b) => b.us - a.us)
          .slice(0, 6)
          .map((f) => ({ name: f.name, where: f.where, ms: Math.round(f.us / 1000) })),
      });
    }
    run = null;
  };
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    const dt = p.timeDeltas[i + 1] ?? 0;
    const leaf = byId.get(p.samples[i] as number);
    if (!leaf || leaf.callFrame.functionName === '(idle)') {
      close();
      continue;
    }
    run ??= { start: t, us: 0, fns: new Map() };
    run.us += dt;
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const l = label(byId.get(id) as ProfileNode);
      if (!l || seen.has(l.key)) continue;
      seen.add(l.key);
      const e = run.fns.get(l.key) ?? { name: l.name, where: l.where, us: 0 };
      e.us += dt;
      run.fns.set(l.key, e);
    }
  }
  close();
  return out;
}
