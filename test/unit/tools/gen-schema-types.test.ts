import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from '../../../src/tools/gen-schema-types';

describe('generated Avro types', () => {
  it('are current with schemas/ (run `make schemas` when this fails)', () => {
    const committed = readFileSync(
      join(__dirname, '..', '..', '..', 'src', 'kafka', 'avro-types.gen.ts'),
      'utf8',
    );
    expect(committed).toBe(generate());
  });

  it('give every Avro field a doc', () => {
    for (const file of [
      'clickstream-event',
      'interest-migration',
      'churn-risk',
      'interest-profile',
      'user-state',
    ]) {
      const text = readFileSync(join(__dirname, '..', '..', '..', 'schemas', `${file}.avsc`), 'utf8');
      const undocumented: string[] = [];
      const visit = (node: unknown): void => {
        if (Array.isArray(node)) node.forEach(visit);
        else if (node && typeof node === 'object') {
          const o = node as Record<string, unknown>;
          if (Array.isArray(o.fields)) {
            for (const f of o.fields as Record<string, unknown>[]) {
              if (typeof f.doc !== 'string' || f.doc.length < 5)
                undocumented.push(`${file}:${String(f.name)}`);
            }
          }
          Object.values(o).forEach(visit);
        }
      };
      visit(JSON.parse(text));
      expect(undocumented).toEqual([]);
    }
  });
});
