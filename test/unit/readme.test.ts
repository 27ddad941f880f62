import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configReferenceMarkdown } from '../../src/shared/config';

describe('README', () => {
  it('carries the current configuration reference (regenerate it from configReferenceMarkdown())', () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    expect(readme).toContain(configReferenceMarkdown());
  });
});
