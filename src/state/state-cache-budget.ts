/**
 * One process-wide bound, in bytes, on the decoded user states that the partitions' state stores
 * keep (as Kafka Streams bounds its record caches with `statestore.cache.max.bytes`). A count of
 * users was the wrong bound: a decoded state weighs from about 3 KB (a new user) to about 8 KB (a
 * full window and both histograms full), and the number of partitions a process owns changes with
 * every rebalance.
 *
 * Members are the stores of one process. When the total is over the bound, the member holding the
 * most gives up its least recently written state, until the total fits: a busy partition is not
 * starved by an idle one that cached first. Members are held weakly, so a store that is abandoned
 * without `leave()` (a partition start that failed after its replay) stops counting once collected.
 */
import { windowLength } from '../core/event-window';
import type { UserState } from '../core/user-state';
import { VARIABLES } from '../shared/config';
import { ProcessorError } from '../shared/errors';

export interface CacheMember {
  /** Estimated bytes of the member's decoded states (decodedStateBytes summed). */
  readonly cachedBytes: number;
  /** Drops the member's least recently written decoded state (encoding it first if needed). */
  evictOldest(): void;
}

/** The default bound, bytes: IDRIFT_STATE_CACHE_BYTES's default. */
export const DEFAULT_STATE_CACHE_BYTES = Number(VARIABLES.IDRIFT_STATE_CACHE_BYTES.default);

/**
 * Estimated heap and off-heap bytes of a decoded state. Measured on node 24, when histograms were
 * Maps, by decoding 10,000 copies of each of 24 simulated states (2 to 134 events) and dividing the
 * growth of heapUsed + external after forced collections: about 2,900 B for the fixed part (the
 * objects, three Float32Arrays and their backing stores, two Maps), 70 B per window entry (the
 * entry object and its dedup key) and 55 B per histogram entry (the map entry and its category
 * string), within about 20 %. Histograms are now two arrays, which take less, so this errs high:
 * the cache keeps fewer states than its budget allows, never more. The window is packed now too
 * (event-window.ts: no object per entry), so the 70 B errs higher still. The three vectors are now
 * plain arrays of doubles (vector.ts): about 1 KB on the heap against 512 B off it, with no backing
 * stores. Not yet re-measured.
 */
export function decodedStateBytes(s: UserState): number {
  return 2900 + 70 * windowLength(s.window) + 55 * (s.shortHorizon.ids.length + s.longHorizon.ids.length);
}

export class StateCacheBudget {
  private readonly members = new Set<WeakRef<CacheMember>>();

  /** @param maxBytes the bound (0 = keep nothing decoded). */
  constructor(readonly maxBytes: number = DEFAULT_STATE_CACHE_BYTES) {}

  join(m: CacheMember): WeakRef<CacheMember> {
    const ref = new WeakRef(m);
    this.members.add(ref);
    return ref;
  }

  leave(ref: WeakRef<CacheMember>): void {
    this.members.delete(ref);
  }

  /** Estimated bytes held by every live member. */
  get usedBytes(): number {
    let used = 0;
    for (const ref of this.members) {
      const m = ref.deref();
      if (m === undefined) this.members.delete(ref);
      else used += m.cachedBytes;
    }
    return used;
  }

  /** Evicts until the members' total fits the bound (the largest member first). */
  fit(): void {
    for (let used = this.usedBytes; used > this.maxBytes;) {
      let largest: CacheMember | undefined;
      for (const ref of this.members) {
        const m = ref.deref();
        if (m !== undefined && m.cachedBytes > (largest?.cachedBytes ?? 0)) largest = m;
      }
      if (largest === undefined) return;
      const before = largest.cachedBytes;
      largest.evictOldest();
      if (largest.cachedBytes >= before) {
        throw new ProcessorError('INVARIANT_VIOLATED', 'a state cache eviction freed nothing');
      }
      used -= before - largest.cachedBytes;
    }
  }
}
