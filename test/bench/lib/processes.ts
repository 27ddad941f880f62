/**
 * Processes measured from outside, through /proc (Linux): CPU time and peak RSS of a pid, and the
 * pids the local stack recorded (test/harness/stack.sh). NaN or null when not readable.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../../system/lib/cluster';

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ, 100 on Linux). */
export const CLK_TCK = 100;

/** CPU seconds (user + system) the process has used. */
export function procCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime are fields 14 and 15 of stat(5); after the comm field they sit at 11 and 12.
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** Peak resident set size of the process, MB (VmHWM). */
export function procPeakRssMb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** The pid the local stack recorded for `name` (broker, registry), or null. */
export function stackPid(name: string): number | null {
  const dir = process.env.IDRIFT_STACK_DIR ?? join(ROOT, '.cache', 'stack');
  try {
    const pid = Number(
      readFileSync(join(isAbsolute(dir) ? dir : join(ROOT, dir), `${name}.pid`), 'utf8').trim(),
    );
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** The service's compiled entry point, relative to ROOT: what the image runs. */
export const COMPILED_MAIN = 'dist/src/main.js';

/** Compiles the service (tsc -p tsconfig.build.json → dist/), so a bench measures what the image runs, not tsx. */
export async function compileService(): Promise<void> {
  await promisify(execFile)(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    { cwd: ROOT },
  );
}
