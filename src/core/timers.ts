/**
 * Event-time timers of one partition: at most one due time per user, fired in (due time, user id)
 * order as the partition watermark passes them.
 *
 * A min-heap of (time, user) entries, with lazy moves: a user's timer moved LATER keeps its heap
 * entry, and the entry is pushed again at the real due time when it reaches the top (a user's
 * timer moves later on every event, so most events then touch no heap). A timer moved earlier or
 * cancelled leaves a stale entry, skipped when popped. Invariant: every user with a due time has
 * exactly one live entry (`entryAt`), at or before its due time.
 */
export class EventTimeTimers {
  private readonly due = new Map<string, number>();
  /** Time of each user's live heap entry. */
  private readonly entryAt = new Map<string, number>();
  private heap: { at: number; userId: string }[] = [];

  get size(): number {
    return this.due.size;
  }

  /** Schedules (or moves) userId's timer; atMs ≤ 0 cancels it. */
  schedule(userId: string, atMs: number): void {
    if (atMs <= 0) {
      this.cancel(userId);
      return;
    }
    this.due.set(userId, atMs);
    const entry = this.entryAt.get(userId);
    if (entry !== undefined && entry <= atMs) return;
    this.entryAt.set(userId, atMs);
    this.push({ at: atMs, userId });
  }

  cancel(userId: string): void {
    this.due.delete(userId);
    this.entryAt.delete(userId);
  }

  dueAt(userId: string): number | undefined {
    return this.due.get(userId);
  }

  /** Removes and returns the earliest timer due at or before watermarkMs, or null. */
  popDue(watermarkMs: number): { userId: string; atMs: number } | null {
    while (this.heap.length > 0) {
      const top = this.heap[0] as { at: number; userId: string };
      if (top.at > watermarkMs) return null;
      this.pop();
      if (this.entryAt.get(top.userId) !== top.at) continue; // stale
      const due = this.due.get(top.userId) as number;
      if (due > top.at) {
        // Moved later since pushed: back in at its due time, to be fired in order.
        this.entryAt.set(top.userId, due);
        this.push({ at: due, userId: top.userId });
        continue;
      }
      this.due.delete(top.userId);
      this.entryAt.delete(top.userId);
      return { userId: top.userId, atMs: top.at };
    }
    return null;
  }

  private less(a: { at: number; userId: string }, b: { at: number; userId: string }): boolean {
    return a.at < b.at || (a.at === b.at && a.userId < b.userId);
  }

  // Sifts move the entry into its hole instead of swapping pairs: a destructuring swap allocated
  // an array per level, which was 5 % of what the per-event path allocated.
  private push(e: { at: number; userId: string }): void {
    const h = this.heap;
    let i = h.length;
    h.push(e);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent] as typeof e;
      if (!this.less(e, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = e;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (h.length === 0 || !last) return;
    const n = h.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(h[r] as typeof last, h[l] as typeof last) ? r : l;
      const child = h[c] as typeof last;
      if (!this.less(child, last)) break;
      h[i] = child;
      i = c;
    }
    h[i] = last;
  }
}
