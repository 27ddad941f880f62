/**
 * The CLI as a user runs it (`node --import tsx src/main.ts …`): help on stdout with exit 0,
 * misuse on stderr with exit 2, nothing else started.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('interest-drift CLI', () => {
  jest.setTimeout(120_000);

  it('--help lists every command on stdout, exit 0', () => {
    const r = cli('--help');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    for (const c of ['run', 'replay', 'tail', 'demo', 'eval'])
      expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
  });

  it('run --help describes the command without starting it, exit 0', () => {
    const r = cli('run', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage:\n  interest-drift run');
    expect(r.stdout).toContain('IDRIFT_');
  });

  it('--version prints the package version, exit 0', () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = cli('--version');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`interest-drift ${version}\n`);
  });

  it('an unknown flag, an unknown command and no command are usage errors, exit 2', () => {
    const bogus = cli('replay', '--bogus');
    expect(bogus.code).toBe(2);
    expect(bogus.stdout).toBe('');
    expect(bogus.stderr).toMatch(/interest-drift replay: Unknown option '--bogus'/);
    expect(bogus.stderr).toMatch(/See 'interest-drift replay --help'/);
    const unknown = cli('replya');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'replya'/);
    expect(cli().code).toBe(2);
  });

  it('bad configuration is reported all at once, exit 2', () => {
    const r = cli('run');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/CONFIG_INVALID/);
    expect(r.stderr).toMatch(/IDRIFT_KAFKA_BROKERS/);
  });
});
