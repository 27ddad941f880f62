/**
 * Summarises V8 .cpuprofile files (node --cpu-prof): self time per function and per area
 * (a package under node_modules, a folder of src/, node internals, GC, idle). Self time of a
 * node = its sample count × the mean sampling interval of its file.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

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
  readonly byArea: { area: string; percent: number }[];
  readonly topFunctions: { name: string; where: string; percent: number }[];
}

export function areaOf(url: string, name: string, root: string): string {
  if (name === '(garbage collector)') return 'GC';
  if (name === '(idle)') return 'idle (waiting on I/O)';
  if (name === '(program)') return 'V8/native (program)';
  if (!url) return 'native / builtins';
  if (url.startsWith('node:')) return 'node internals';
  const path = url.replace(/^file:\/\//, '');
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (nm) return nm[1] as string;
  const rel = relative(root, path);
  const m = /^src\/([^/]+)\//.exec(rel);
  return m ? `src/${m[1]}` : rel;
}

export function summariseProfiles(files: readonly string[], root: string): ProfileSummary {
  const byFn = new Map<string, { name: string; where: string; ms: number }>();
  const byArea = new Map<string, number>();
  let sampledMs = 0;
  let busyMs = 0;
  for (const f of files) {
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
      const file = url ? relative(root, url.replace(/^file:\/\//, '')) : '';
      // Our sources run through tsx without source maps in the profile: their line numbers
      // point into transpiled code, so only the file is shown for them.
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
  }
  const pct = (ms: number): number => (busyMs > 0 ? (100 * ms) / busyMs : 0);
  return {
    files: files.length,
    sampledMs: Math.round(sampledMs),
    busyMs: Math.round(busyMs),
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
