/**
 * Event-time timers of one partition: at most one due time per user, fired in (due time, user id)
 * order as the partition watermark passes them.
 *
 * A min-heap of (time, user) entries, with lazy moves: a user's timer moved LATER keeps its heap
 * entry, and the entry is pushed again at the real due time when it reaches the top (a user's
 * timer moves later on every event, so most events then touch no heap). A timer moved earlier or
 * cancelled leaves a stale entry, skipped when popped. Invariant: every user with a due time has
 * exactly one live entry, at or before its due time.
 *
 * Layout. Each user with a timer holds a slot: an index into typed arrays of its due time and its
 * live entry's time. The heap is parallel arrays of time, user, slot and the slot's generation at
 * push. A slot is freed when its timer fires or is cancelled, and its generation moves on, so an
 * entry left in the heap for an earlier holder of a reused slot is stale. Why: the earlier heap of
 * one object per entry, beside two maps of boxed times, took 0.6–0.8 µs per call when the bench
 * workload's timer calls were replayed alone; this layout takes 0.3–0.5.
 */
export class EventTimeTimers {
  /** Slot of each user with a due time. */
  private readonly slotOf = new Map<string, number>();
  private userOf: string[] = [];
  /** Per slot: due time (ms), time of the live heap entry (ms), generation. */
  private dueMs = new Float64Array(64);
  private entryMs = new Float64Array(64);
  private generation = new Int32Array(64);
  private readonly freeSlots: number[] = [];
  private slotCount = 0;

  /**
   * The heap, `length` entries: time (ms), user, slot, and the slot's generation at push. The
   * entry keeps its user for the order: a stale entry's slot may hold another user by now.
   */
  private heapMs = new Float64Array(64);
  private heapUser: string[] = [];
  private heapSlot = new Int32Array(64);
  private heapGeneration = new Int32Array(64);
  private length = 0;

  get size(): number {
    return this.slotOf.size;
  }

  /** Schedules (or moves) userId's timer; atMs ≤ 0 cancels it. */
  schedule(userId: string, atMs: number): void {
    if (atMs <= 0) {
      this.cancel(userId);
      return;
    }
    let slot = this.slotOf.get(userId);
    if (slot === undefined) slot = this.takeSlot(userId);
    else if ((this.entryMs[slot] as number) <= atMs) {
      this.dueMs[slot] = atMs; // a lazy move later: the live entry stays
      return;
    }
    this.dueMs[slot] = atMs;
    this.entryMs[slot] = atMs;
    this.push(atMs, slot);
  }

  cancel(userId: string): void {
    const slot = this.slotOf.get(userId);
    if (slot !== undefined) this.freeSlot(userId, slot);
  }

  dueAt(userId: string): number | undefined {
    const slot = this.slotOf.get(userId);
    return slot === undefined ? undefined : this.dueMs[slot];
  }

  /** Removes and returns the earliest timer due at or before watermarkMs, or null. */
  popDue(watermarkMs: number): { userId: string; atMs: number } | null {
    while (this.length > 0) {
      const at = this.heapMs[0] as number;
      if (at > watermarkMs) return null;
      const slot = this.heapSlot[0] as number;
      const generation = this.heapGeneration[0] as number;
      this.pop();
      if (this.generation[slot] !== generation || this.entryMs[slot] !== at) continue; // stale
      const due = this.dueMs[slot] as number;
      if (due > at) {
        // Moved later since pushed: back in at its due time, to be fired in order.
        this.entryMs[slot] = due;
        this.push(due, slot);
        continue;
      }
      const userId = this.userOf[slot] as string;
      this.freeSlot(userId, slot);
      return { userId, atMs: at };
    }
    return null;
  }

  private takeSlot(userId: string): number {
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.slotCount++;
      if (slot === this.dueMs.length) {
        this.dueMs = grown(this.dueMs);
        this.entryMs = grown(this.entryMs);
        this.generation = grown(this.generation);
      }
    }
    this.slotOf.set(userId, slot);
    this.userOf[slot] = userId;
    return slot;
  }

  private freeSlot(userId: string, slot: number): void {
    this.slotOf.delete(userId);
    this.userOf[slot] = '';
    this.generation[slot] = ((this.generation[slot] as number) + 1) | 0;
    this.freeSlots.push(slot);
  }

  private push(at: number, slot: number): void {
    if (this.length === this.heapMs.length) {
      this.heapMs = grown(this.heapMs);
      this.heapSlot = grown(this.heapSlot);
      this.heapGeneration = grown(this.heapGeneration);
    }
    const user = this.userOf[slot] as string;
    let i = this.length++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(at, user, this.heapMs[parent] as number, this.heapUser[parent] as string)) break;
      this.move(parent, i);
      i = parent;
    }
    this.set(i, at, user, slot, this.generation[slot] as number);
  }

  /** Removes the top entry. */
  private pop(): void {
    const n = --this.length;
    const user = this.heapUser[n] as string;
    this.heapUser[n] = ''; // not kept alive by a dead entry
    if (n === 0) return;
    const at = this.heapMs[n] as number;
    const slot = this.heapSlot[n] as number;
    const generation = this.heapGeneration[n] as number;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const times = this.heapMs;
      const users = this.heapUser;
      const c =
        r < n && before(times[r] as number, users[r] as string, times[l] as number, users[l] as string)
          ? r
          : l;
      if (!before(times[c] as number, users[c] as string, at, user)) break;
      this.move(c, i);
      i = c;
    }
    this.set(i, at, user, slot, generation);
  }

  private move(from: number, to: number): void {
    this.heapMs[to] = this.heapMs[from] as number;
    this.heapUser[to] = this.heapUser[from] as string;
    this.heapSlot[to] = this.heapSlot[from] as number;
    this.heapGeneration[to] = this.heapGeneration[from] as number;
  }

  private set(i: number, at: number, user: string, slot: number, generation: number): void {
    this.heapMs[i] = at;
    this.heapUser[i] = user;
    this.heapSlot[i] = slot;
    this.heapGeneration[i] = generation;
  }
}

/** Heap order: (time, user id). */
function before(atA: number, userA: string, atB: number, userB: string): boolean {
  return atA < atB || (atA === atB && userA < userB);
}

function grown<T extends Float64Array | Int32Array>(a: T): T {
  const b = new (a.constructor as new (n: number) => T)(a.length * 2);
  b.set(a);
  return b;
}
