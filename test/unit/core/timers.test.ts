import { EventTimeTimers } from '../../../src/core/timers';

describe('event-time timers', () => {
  it('fires in (time, user) order up to the watermark, honouring reschedules and cancels', () => {
    const t = new EventTimeTimers();
    t.schedule('b', 20);
    t.schedule('a', 20);
    t.schedule('c', 10);
    t.schedule('d', 5);
    t.schedule('d', 30); // moved
    t.schedule('e', 7);
    t.cancel('e');
    const fired: string[] = [];
    for (let x = t.popDue(25); x; x = t.popDue(25)) fired.push(`${x.userId}@${x.atMs}`);
    expect(fired).toEqual(['c@10', 'a@20', 'b@20']);
    expect(t.popDue(29)).toBeNull();
    expect(t.popDue(30)).toEqual({ userId: 'd', atMs: 30 });
    expect(t.size).toBe(0);
  });
});

describe('event-time timers against a plain reference', () => {
  /** The contract without a heap: each user's current due time, fired in (time, user) order. */
  class Reference {
    readonly due = new Map<string, number>();
    schedule(u: string, at: number): void {
      if (at <= 0) this.due.delete(u);
      else this.due.set(u, at);
    }
    popDue(w: number): { userId: string; atMs: number } | null {
      let best: [string, number] | null = null;
      for (const [u, at] of this.due)
        if (at <= w && (!best || at < best[1] || (at === best[1] && u < best[0]))) best = [u, at];
      if (!best) return null;
      this.due.delete(best[0]);
      return { userId: best[0], atMs: best[1] };
    }
  }

  it('fires the same timers in the same order under random moves, cancels and watermarks', () => {
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let run = 0; run < 30; run++) {
      const t = new EventTimeTimers();
      const ref = new Reference();
      let watermark = 0;
      for (let op = 0; op < 400; op++) {
        const u = `u${rand(12)}`;
        const r = rand(10);
        if (r < 6) {
          // Mostly later (as events move timers), sometimes earlier, sometimes a tie.
          const at = watermark + 1 + rand(30);
          t.schedule(u, at);
          ref.schedule(u, at);
        } else if (r < 7) {
          t.cancel(u);
          ref.schedule(u, 0);
        } else {
          watermark += rand(15);
          // In lockstep, as the processor does: a fired user may be rescheduled before the next pop,
          // at or before the watermark (fires again in this run) or after it.
          for (;;) {
            const x = t.popDue(watermark);
            const y = ref.popDue(watermark);
            expect(x).toEqual(y);
            if (!x) break;
            if (rand(3) === 0) {
              const again = watermark - 5 + rand(20);
              t.schedule(x.userId, again);
              ref.schedule(x.userId, again);
            }
          }
        }
        expect(t.size).toBe(ref.due.size);
        expect(t.dueAt(u)).toBe(ref.due.get(u));
      }
    }
  });
});
