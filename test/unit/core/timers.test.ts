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
