import { createHash, hash } from 'node:crypto';

/** Deterministic 32-hex id from its parts: a replay of the same input yields the same id. */
export function deterministicId(...parts: readonly (string | number)[]): string {
  return createHash('sha256').update(parts.join('\u001f')).digest('hex').slice(0, 32);
}

/** Dedup keys at or above this are eventKey()s; below it, legacyEventKey()s. */
export const EVENT_KEY_BASE = 2 ** 52;

/**
 * The dedup memory's key of an event id: 2^52 plus a 52-bit hash of the id's UTF-16 code units
 * (cyrb53's mixing by bryc, public domain, cut to 52 bits), an integer in [2^52, 2^53) that a
 * double holds exactly, so it survives the changelog as 8 bytes. Two different ids of one user
 * collide with probability about 2^-52 per comparison, 1 wrong "duplicate" in 1.4e14 events at
 * 32 remembered ids. Not a cryptographic hash: whoever writes the input could craft colliding
 * ids, but whoever writes the input can drop events anyway.
 *
 * Why not SHA-256 any more (legacyEventKey): it cost about 3 µs per event, 3 % of the
 * processor's main thread in the bench's profile. The keys it wrote stay in restored states;
 * they are below 2^52, so the two kinds never compare equal and isDuplicate tells them apart.
 */
export function eventKey(eventId: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < eventId.length; i++) {
    const ch = eventId.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return EVENT_KEY_BASE + (h2 & 0xfffff) * 2 ** 32 + (h1 >>> 0);
}

/**
 * The key that version-3 and version-4 states written before e8e72ef hold: the first 52 bits of
 * the id's SHA-256, an integer below 2^52. (Avro states of versions 1 and 2 hold the ids
 * themselves and are read with eventKey.) Still computed for users whose restored dedup memory holds such keys
 * (isDuplicate), until 32 newer events have pushed them out.
 */
export function legacyEventKey(eventId: string): number {
  // One-shot hash: same digest as createHash, without a Hash object.
  const d = hash('sha256', eventId, 'buffer');
  return d.readUIntBE(0, 6) * 16 + ((d[6] as number) >> 4);
}
