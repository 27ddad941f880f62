import { createHash, hash } from 'node:crypto';

/** Deterministic 32-hex id from its parts: a replay of the same input yields the same id. */
export function deterministicId(...parts: readonly (string | number)[]): string {
  return createHash('sha256').update(parts.join('\u001f')).digest('hex').slice(0, 32);
}

/**
 * The dedup memory's key of an event id: the first 52 bits of its SHA-256, as an integer number
 * (exact in a double, so it survives the changelog as 8 bytes). Two different ids of one user
 * collide with probability 2^-52 per comparison, about 1 wrong "duplicate" in 1.4e14 events
 * at 32 remembered ids.
 */
export function eventKey(eventId: string): number {
  // One-shot hash: same digest as createHash, without a Hash object per event (hot path).
  const d = hash('sha256', eventId, 'buffer');
  return d.readUIntBE(0, 6) * 16 + ((d[6] as number) >> 4);
}
