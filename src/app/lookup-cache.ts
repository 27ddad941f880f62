/**
 * The interest lookup's cache of committed answers, and the processing thread's record of it.
 *
 * The lookup is served on its own thread (http-worker.ts), so that a request never waits for
 * the processing thread's event loop. That thread holds no states: it answers from this cache,
 * which holds the answer for users looked up before, and asks the processing thread for the
 * others (a miss). The processing thread keeps `WatchedUsers`, the same keys, and after every
 * transaction that changes one of them sends the new answer. Both sides see the messages of one
 * port in order, so a cached answer is always that of the user's last committed state.
 *
 * Invariants: an answer is cached only for a user of a partition this instance has restored and
 * owns; `dropPartition` removes a partition's users on both sides when it is revoked; an update
 * for a user who is not cached (evicted meanwhile) is ignored, and the eviction reaches the
 * processing thread as an unwatch. Requests are numbered in the order they are sent; a reply to a
 * request sent before the user's eviction is not admitted (`admit`), because the processing
 * thread handled that request before the unwatch and so no longer watches the user.
 *
 * Redirects are cached by partition instead (`OwnerCache`): the owner the processing thread
 * redirected a partition's users to, for as long as it trusts what it learnt of the group, and
 * not after the group starts a rebalance.
 */

/** A committed answer to GET /v1/users/{id}/interests: the view (200), or no state (404). */
export interface CachedAnswer {
  readonly status: 200 | 404;
  /** The response body, JSON. */
  readonly body: string;
}

interface Entry {
  readonly partition: number;
  answer: CachedAnswer;
}

/** The lookup thread's side: answers by user, least recently looked up evicted first. */
export class LookupCache {
  private readonly entries = new Map<string, Entry>();
  /** Evicted users: the number of the first request sent after their eviction. */
  private readonly evictedBefore = new Map<string, number>();

  /** @param maxUsers most users held (0: none, every lookup is a miss) */
  constructor(readonly maxUsers: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** The user's answer, marking it most recently used; undefined on a miss. */
  get(userId: string): CachedAnswer | undefined {
    const e = this.entries.get(userId);
    if (e === undefined) return undefined;
    this.entries.delete(userId);
    this.entries.set(userId, e);
    return e.answer;
  }

  /**
   * Holds the answer that request number `request` brought, unless the user was evicted after
   * that request was sent; `nextRequest` is the number the next request will get. Returns the
   * users evicted to make room (to unwatch).
   */
  admit(
    userId: string,
    partition: number,
    answer: CachedAnswer,
    request: number,
    nextRequest: number,
  ): string[] {
    if ((this.evictedBefore.get(userId) ?? -1) > request) return [];
    if (this.maxUsers === 0) return [userId];
    this.entries.delete(userId);
    this.entries.set(userId, { partition, answer });
    const evicted: string[] = [];
    for (const id of this.entries.keys()) {
      if (this.entries.size <= this.maxUsers) break;
      this.entries.delete(id);
      this.evictedBefore.set(id, nextRequest);
      evicted.push(id);
    }
    return evicted;
  }

  /**
   * Forgets the evictions no reply still to come can predate: all of them when no request is
   * outstanding (`oldestOutstanding` null), else those before the oldest outstanding request.
   */
  settle(oldestOutstanding: number | null): void {
    if (oldestOutstanding === null) {
      this.evictedBefore.clear();
      return;
    }
    for (const [id, before] of this.evictedBefore)
      if (before <= oldestOutstanding) this.evictedBefore.delete(id);
  }

  /** Evicted users still remembered (bounded by settle). */
  get rememberedEvictions(): number {
    return this.evictedBefore.size;
  }

  /** A newer committed answer; ignored (false) when the user is not held. */
  update(userId: string, answer: CachedAnswer): boolean {
    const e = this.entries.get(userId);
    if (e === undefined) return false;
    e.answer = answer;
    return true;
  }

  dropPartition(partition: number): void {
    for (const [id, e] of this.entries) if (e.partition === partition) this.entries.delete(id);
  }

  clear(): void {
    this.entries.clear();
  }
}

/** The processing thread's side: which users' answers the lookup thread holds, by partition. */
export class WatchedUsers {
  private readonly partitionOf = new Map<string, number>();

  get size(): number {
    return this.partitionOf.size;
  }

  watch(userId: string, partition: number): void {
    this.partitionOf.set(userId, partition);
  }

  unwatch(userId: string): void {
    this.partitionOf.delete(userId);
  }

  has(userId: string): boolean {
    return this.partitionOf.has(userId);
  }

  dropPartition(partition: number): void {
    for (const [id, p] of this.partitionOf) if (p === partition) this.partitionOf.delete(id);
  }

  clear(): void {
    this.partitionOf.clear();
  }
}

/** The lookup thread's owners of other instances' partitions, each trusted for `maxAgeMs`. */
export class OwnerCache {
  private readonly owners = new Map<number, { readonly owner: string; readonly untilMs: number }>();
  private count = 0;

  constructor(
    private readonly maxAgeMs: number,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** The input topic's partition count (0: not known yet). */
  get partitions(): number {
    return this.count;
  }

  /** The processing thread redirected a user of `partition` (of `partitions`) to `owner`. */
  learn(partition: number, owner: string, partitions: number): void {
    if (partitions !== this.count) {
      this.owners.clear();
      this.count = partitions;
    }
    this.owners.set(partition, { owner, untilMs: this.nowMs() + this.maxAgeMs });
  }

  /** The owner of `partition` while still trusted, else undefined. */
  ownerOf(partition: number): string | undefined {
    const o = this.owners.get(partition);
    if (o === undefined) return undefined;
    if (this.nowMs() < o.untilMs) return o.owner;
    this.owners.delete(partition);
    return undefined;
  }

  clear(): void {
    this.owners.clear();
  }
}
