/**
 * Event-time timers of one partition: at most one due time per user, fired in (due time, user id)
 * order as the partition watermark passes them. A min-heap with lazy deletion: rescheduling a user
 * pushes a new entry and the stale one is skipped when popped.
 */
export class EventTimeTimers {
  private readonly due = new Map<string, number>();
  private heap: { at: number; userId: string }[] = [];

  get size(): number {
    return this.due.size;
  }

  /** Schedules (or moves) userId's timer; atMs ≤ 0 cancels it. */
  schedule(userId: string, atMs: number): void {
    if (atMs <= 0) {
      this.due.delete(userId);
      return;
    }
    if (this.due.get(userId) === atMs) return;
    this.due.set(userId, atMs);
    this.push({ at: atMs, userId });
  }

  cancel(userId: string): void {
    this.due.delete(userId);
  }

  dueAt(userId: string): number | undefined {
    return this.due.get(userId);
  }

  /** Removes and returns the earliest timer due at or before watermarkMs, or null. */
  popDue(watermarkMs: number): { userId: string; atMs: number } | null {
    while (this.heap.length > 0) {
      const top = this.heap[0] as { at: number; userId: string };
      if (this.due.get(top.userId) !== top.at) {
        this.pop();
        continue;
      }
      if (top.at > watermarkMs) return null;
      this.pop();
      this.due.delete(top.userId);
      return { userId: top.userId, atMs: top.at };
    }
    return null;
  }

  private less(a: { at: number; userId: string }, b: { at: number; userId: string }): boolean {
    return a.at < b.at || (a.at === b.at && a.userId < b.userId);
  }

  private push(e: { at: number; userId: string }): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(h[i] as typeof e, h[parent] as typeof e)) break;
      [h[i], h[parent]] = [h[parent] as typeof e, h[i] as typeof e];
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (h.length === 0 || !last) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l] as typeof last, h[m] as typeof last)) m = l;
      if (r < h.length && this.less(h[r] as typeof last, h[m] as typeof last)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m] as typeof last, h[i] as typeof last];
      i = m;
    }
  }
}
