import { DirtyUsers } from '../../../src/state/dirty-users';

const at = (offset: number, maxEventTimeMs = offset * 10) => ({ offset: BigInt(offset), maxEventTimeMs });

describe('DirtyUsers', () => {
  it('keeps each user at its first change, oldest first, and the checkpoint at the oldest unwritten one', () => {
    const d = new DirtyUsers();
    d.mark('a', at(10), 100);
    d.mark('b', at(20), 200);
    d.mark('a', at(30), 300); // a stays at 10
    expect([...d.keys()]).toEqual(['a', 'b']);
    expect(d.checkpoint(at(40))).toEqual({ offset: 10n, maxEventTimeMs: 100 });
    d.written(['a']);
    expect(d.checkpoint(at(40))).toEqual({ offset: 20n, maxEventTimeMs: 200 });
    d.written(['b']);
    expect(d.checkpoint(at(40))).toEqual({ offset: 40n, maxEventTimeMs: 400 });
    // Written, then changed again: a new entry behind the others.
    d.mark('c', at(50), 500);
    d.mark('a', at(60), 600);
    expect([...d.keys()]).toEqual(['c', 'a']);
  });

  it('is due by age or by offset, oldest first, at most `max`', () => {
    const d = new DirtyUsers();
    d.mark('a', at(0), 0);
    d.mark('b', at(100), 5);
    d.mark('c', at(200), 10);
    d.mark('d', at(300), 20);
    expect(d.due({ changedBefore: 9, offsetBelow: 0n, max: 10 })).toEqual(['a', 'b']);
    expect(d.due({ changedBefore: 9, offsetBelow: 0n, max: 1 })).toEqual(['a']);
    expect(d.due({ changedBefore: -1, offsetBelow: 250n, max: 10 })).toEqual(['a', 'b', 'c']);
    expect(d.due({ changedBefore: -1, offsetBelow: 0n, max: 10 })).toEqual([]);
    expect(d.oldest(3)).toEqual(['a', 'b', 'c']);
  });

  it('replayed users (changed at -Infinity) are due at once', () => {
    const d = new DirtyUsers();
    d.mark('r', at(0), Number.NEGATIVE_INFINITY);
    expect(d.due({ changedBefore: -1e15, offsetBelow: -1n, max: 5 })).toEqual(['r']);
  });
});
