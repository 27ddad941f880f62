import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICE_NODE_FLAGS } from '../../../src/shared/node-flags';

const ROOT = join(__dirname, '..', '..', '..');
const read = (f: string): string => readFileSync(join(ROOT, f), 'utf8');

// Both images' ENTRYPOINT: test/unit/k8s/dockerfiles.test.ts.
describe('the service’s V8 flags', () => {
  it('make run passes the same list', () => {
    const line = /^SERVICE_NODE_FLAGS := (.*)$/m.exec(read('Makefile'))?.[1];
    expect(line?.trim().split(/\s+/)).toEqual([...SERVICE_NODE_FLAGS]);
  });

  it('this node accepts them and sizes the young generation by them', () => {
    // new_space starts at --min-semi-space-size MiB (1 MiB without the flags, growing to V8's cap).
    const out = execFileSync(
      process.execPath,
      [
        ...SERVICE_NODE_FLAGS,
        '-e',
        'const s = require("v8").getHeapSpaceStatistics().find((x) => x.space_name === "new_space"); process.stdout.write(String(s.space_size))',
      ],
      { encoding: 'utf8' },
    );
    const semi = Number(/--min-semi-space-size=(\d+)/.exec(SERVICE_NODE_FLAGS.join(' '))?.[1]);
    expect(Number(out)).toBe(semi * 1024 * 1024);
  });
});
