/**
 * The layer rules of .dependency-cruiser.cjs, which `make lint` runs: the tree passes, and a
 * planted import from src/core into src/kafka (or a cycle) fails with the rule named.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');
const DEPCRUISE = join(ROOT, 'node_modules', '.bin', 'depcruise');

function cruise(cwd: string): { code: number | null; out: string } {
  const r = spawnSync(DEPCRUISE, ['src', '--config', '.dependency-cruiser.cjs'], {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

function plantedTree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'layers-'));
  copyFileSync(join(ROOT, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'commonjs', strict: true } }),
  );
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('layer rules', () => {
  jest.setTimeout(120_000);

  it('pass on the tree', () => {
    const r = cruise(ROOT);
    expect(r.out).toMatch(/no dependency violations found/);
    expect(r.code).toBe(0);
  });

  it('fail on an import from src/core into src/kafka, naming the rule', () => {
    const dir = plantedTree({
      'src/kafka/topics.ts': 'export const topic = "t";\n',
      'src/core/planted.ts': "import { topic } from '../kafka/topics';\nexport const x = topic;\n",
    });
    try {
      const r = cruise(dir);
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(/layer-core: src\/core\/planted\.ts → src\/kafka\/topics\.ts/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fail on a cycle and on a folder that is no layer', () => {
    const dir = plantedTree({
      'src/kafka/a.ts': "import { b } from './b';\nexport const a = () => b;\n",
      'src/kafka/b.ts': "import { a } from './a';\nexport const b = () => a;\n",
      'src/misc/c.ts': "import { a } from '../kafka/a';\nexport const c = a;\n",
    });
    try {
      const r = cruise(dir);
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(/no-circular/);
      expect(r.out).toMatch(/no-unknown-layer: src\/misc\/c\.ts/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
