import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configReferenceMarkdown } from '../../src/shared/config';

describe('README', () => {
  it('carries the current configuration reference (regenerate it from configReferenceMarkdown())', () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    expect(readme).toContain(configReferenceMarkdown());
  });
});

describe('README folder table', () => {
  const root = join(__dirname, '..', '..');
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('| folder | role |'), readme.indexOf('## The local stack'));
  const named = [...table.matchAll(/^\| `([^`]+)`/gm)].map((m) => m[1] as string);

  it('names every folder of src/, and only paths that exist', () => {
    const folders = readdirSync(join(root, 'src'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => `src/${d.name}/`);
    expect(named).toEqual(expect.arrayContaining(folders));
    for (const path of named) expect(existsSync(join(root, path))).toBe(true);
  });
});
