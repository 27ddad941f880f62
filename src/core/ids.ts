import { createHash } from 'node:crypto';

/** Deterministic 32-hex id from its parts: a replay of the same input yields the same id. */
export function deterministicId(...parts: readonly (string | number)[]): string {
  return createHash('sha256').update(parts.join('\u001f')).digest('hex').slice(0, 32);
}
