/**
 * The alert rules (k8s/monitoring/prometheusrule.yaml) run by Prometheus' own promtool, pinned and
 * built by test/harness/promtool.sh: `check rules` (what Prometheus would load) and `test rules`
 * with k8s/monitoring/prometheusrule.test.yaml (each alert fires on its fault, with its labels and
 * rendered annotations, and stays quiet on a healthy or borderline case). The unit tests in
 * test/unit/k8s parse the same expressions with the PromQL grammar; only this evaluates them.
 * No broker or registry: it is here because it builds and runs a real program.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

jest.setTimeout(1_200_000);

const ROOT = join(__dirname, '..', '..', '..');
const RULES = join(ROOT, 'k8s', 'monitoring', 'prometheusrule.yaml');
const TESTS = join(ROOT, 'k8s', 'monitoring', 'prometheusrule.test.yaml');

interface RuleGroup {
  readonly name: string;
  readonly rules: { alert?: string; record?: string; expr: string }[];
}

function promtool(): string {
  return execFileSync(join(ROOT, 'test/harness/promtool.sh'), ['path'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 1_200_000,
  }).trim();
}

/** The PrometheusRule's groups as a plain rules file, with the tests beside it; returns the folder. */
function workspace(groups: RuleGroup[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'promtool-'));
  writeFileSync(join(dir, 'rules.yaml'), stringify({ groups }));
  copyFileSync(TESTS, join(dir, 'prometheusrule.test.yaml'));
  return dir;
}

function run(bin: string, args: string[], cwd: string): { status: number | null; output: string } {
  const r = spawnSync(bin, args, { cwd, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('alert rules, by promtool', () => {
  const groups = (parse(readFileSync(RULES, 'utf8')) as { spec: { groups: RuleGroup[] } }).spec.groups;
  const alerts = groups.flatMap((g) => g.rules.map((r) => r.alert).filter((a): a is string => !!a));
  let bin = '';
  beforeAll(() => {
    bin = promtool();
  });

  it('loads every rule', () => {
    const dir = workspace(groups);
    const r = run(bin, ['check', 'rules', 'rules.yaml'], dir);
    expect(r.output).toContain(`SUCCESS: ${alerts.length} rules found`);
    expect(r.status).toBe(0);
  });

  it('passes the rule tests, and every alert has one', () => {
    const tested = new Set(
      [...readFileSync(TESTS, 'utf8').matchAll(/alertname: (\w+)/g)].map((m) => m[1] as string),
    );
    expect(alerts.filter((a) => !tested.has(a))).toEqual([]);
    const r = run(bin, ['test', 'rules', 'prometheusrule.test.yaml'], workspace(groups));
    expect(r.output).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  it('fails them when a threshold moves (the tests can fail)', () => {
    const moved = groups.map((g) => ({
      ...g,
      rules: g.rules.map((r) =>
        r.alert === 'InterestDriftLookupSlow' ? { ...r, expr: r.expr.replace('> 0.1', '> 0.3') } : r,
      ),
    }));
    expect(JSON.stringify(moved)).not.toEqual(JSON.stringify(groups));
    const r = run(bin, ['test', 'rules', 'prometheusrule.test.yaml'], workspace(moved));
    expect(r.status).toBe(1);
    expect(r.output).toMatch(/FAILED[\s\S]*alertname: InterestDriftLookupSlow/);
  });
});
