/**
 * One process-wide bound, in bytes, on the decoded user states that the partitions' state stores
 * keep (as Kafka Streams bounds its record caches with `statestore.cache.max.bytes`). A count of
 * users was the wrong bound: a decoded state weighs from about 2.4 KB (a new user) to about 4 KB (a
 * full window and both histograms full; see decodedStateBytes), and the number of partitions a
 * process owns changes with every rebalance.
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
 * Estimated heap and off-heap bytes of a cached state: 2,500 B for the fixed part (the objects, the
 * three vectors as arrays of doubles, the dedup keys), 30 B per window entry (its time, kind and
 * shared category string) and 18 B per histogram entry (its weight and shared category id).
 *
 * Measured on node 24 (2026-11-28) with `node --expose-gc --import tsx test/bench/lib/core-probe.ts
 * --state-bytes`: the final states of the bench workload's 10,000 users, as the processor makes
 * them (the states the cache holds), in ten groups by size. Dropping a group and collecting freed
 * 2,351–3,639 B per state, and this estimate is 2–15 % above each group's measurement: the cache
 * keeps fewer states than its budget allows, never more. A least-squares fit gave 2,266 + 29.8 per
 * window entry + 15.7 per histogram entry. The estimate before (2,900 + 70 + 55, measured when
 * windows were arrays of objects and histograms Maps) was 1.2–1.85 × the measurement, so the cache
 * held about two thirds of what its budget allowed.
 */
export function decodedStateBytes(s: UserState): number {
  return 2500 + 30 * windowLength(s.window) + 18 * (s.shortHorizon.ids.length + s.longHorizon.ids.length);
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
