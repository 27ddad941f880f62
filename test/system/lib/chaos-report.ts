/**
 * Chaos results: one page per seed (test/system/results/chaos/seed-<seed>.{md,json}: verdict,
 * fault timeline with per-fault recovery, largest lag) and a table of every seed run so far
 * (test/system/results/chaos.md), rebuilt from the per-seed JSON files.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChaosReport } from './chaos';
import type { Row } from './scenario';
import { RESULTS_DIR, fmtS } from './scenario';
import { ROOT } from './cluster';

const CHAOS_DIR = join(RESULTS_DIR, 'chaos');

interface Stored extends ChaosReport {
  readonly ranAt: string;
  /** Commit of the code that ran (absent in results from before it was recorded). */
  readonly code?: string;
  readonly privacy: Row;
}

function seedPage(r: Stored): string {
  const v = r.row;
  return [
    `# Chaos, seed ${r.seed} (${r.minutes} min)`,
    '',
    `Run ${r.ranAt} on code ${r.code ?? '(commit not recorded)'}. Reproduce: \`make test-system PROFILE=chaos SEED=${r.seed} MINUTES=${r.minutes}\` (same schedule; targets are chosen among the instances running when a fault starts).`,
    '',
    `**${v.pass && r.privacy.pass ? 'PASS' : 'FAIL'}**: ${v.events} input records; duplicates ${v.duplicates}, missing ${v.missing}, mismatches ${v.mismatches}; ${v.recovery}; privacy ${r.privacy.pass ? 'PASS' : 'FAIL'}.`,
    '',
    `- faults: ${v.faults}`,
    `- largest lag: ${r.maxLag} records at t = ${r.maxLagAtS} s`,
    ...v.notes.map((n) => `- ${n}`),
    ...r.privacy.notes.map((n) => `- privacy: ${n}`),
    '',
    '## Fault timeline',
    '',
    '| # | t (s) | fault | hold | target | healed (s) | recovery | note |',
    '| ---: | ---: | --- | ---: | --- | ---: | ---: | --- |',
    ...r.timeline
      .slice()
      .sort((a, b) => a.fault.id - b.fault.id)
      .map(
        (e) =>
          `| ${e.fault.id} | ${e.startedAtS} | ${e.fault.kind}${e.fault.scaleTo ? ` → ${e.fault.scaleTo}` : ''} | ${fmtS(e.fault.holdMs)} | ${e.target} | ${e.healedAtS ?? '-'} | ${e.recoveryMs === null ? '**none**' : fmtS(e.recoveryMs)} | ${e.note} |`,
      ),
    '',
    '## Instances that exited by themselves',
    '',
    r.unexpectedExits.length === 0
      ? 'None.'
      : r.unexpectedExits
          .map(
            (x) =>
              `- ${x.instance} at t = ${x.atS} s: code ${x.code}, signal ${x.signal}${x.lastLine ? `; last line: \`${x.lastLine.replace(/`/g, "'")}\`` : ''}`,
          )
          .join('\n'),
    '',
  ].join('\n');
}

function summary(all: Stored[]): string {
  const rows = all
    .slice()
    .sort((a, b) => a.seed - b.seed)
    .map((r) => {
      const worst = Math.max(0, ...r.timeline.map((e) => e.recoveryMs ?? 0));
      return `| [${r.seed}](chaos/seed-${r.seed}.md) | ${r.minutes} | ${r.row.events} | ${r.timeline.length} | ${r.overlaps} | ${r.row.duplicates} | ${r.row.missing} | ${r.row.mismatches} | ${fmtS(worst)} | ${r.maxLag} | ${r.unexpectedExits.length} | ${r.row.pass && r.privacy.pass ? 'PASS' : '**FAIL**'} | ${r.ranAt.slice(0, 10)} | ${r.code ?? 'not recorded'} |`;
    });
  return [
    '# Chaos profile: every seed run',
    '',
    '`make test-system PROFILE=chaos SEED=N MINUTES=M`: 3 processor instances (scaled between 1 and 4) on paced input with 1 % poison and duplicate event ids, a seeded nemesis overlapping kill -9, zombies, scaling, broker stop and SIGSTOP, registry outages and kills during restore; verified record by record against the fault-free reference (test/system/lib/verify.ts).',
    '',
    '| seed | minutes | input records | faults | overlapping pairs | duplicates | missing | mismatches | worst recovery | max lag | self-exits | result | date | code (commit) |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

/** The commit the run's code came from (short hash, "+dirty" with uncommitted changes). */
function codeVersion(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    return dirty ? `${sha}+dirty` : sha;
  } catch {
    return 'unknown';
  }
}

/** Writes this run's page and rebuilds the table of all seeds; returns the page. */
export function writeChaosResults(report: ChaosReport, privacy: Row): string {
  mkdirSync(CHAOS_DIR, { recursive: true });
  const stored: Stored = { ...report, ranAt: new Date().toISOString(), code: codeVersion(), privacy };
  const base = `seed-${report.seed}${report.minutes < 20 ? `-short` : ''}`;
  writeFileSync(join(CHAOS_DIR, `${base}.json`), `${JSON.stringify(stored, null, 1)}\n`);
  const page = seedPage(stored);
  writeFileSync(join(CHAOS_DIR, `${base}.md`), `${page}\n`);
  rebuildChaosTable();
  return page;
}

/** test/system/results/chaos.md from every seed's JSON (also after copying in runs made elsewhere). */
export function rebuildChaosTable(): void {
  const all = readdirSync(CHAOS_DIR)
    .filter((f) => f.endsWith('.json') && !f.includes('-short'))
    .map((f) => JSON.parse(readFileSync(join(CHAOS_DIR, f), 'utf8')) as Stored);
  writeFileSync(join(RESULTS_DIR, 'chaos.md'), summary(all));
}
