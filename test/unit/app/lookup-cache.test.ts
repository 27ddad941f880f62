import { LookupCache, OwnerCache, WatchedUsers } from '../../../src/app/lookup-cache';

const a = (body: string): { status: 200; body: string } => ({ status: 200, body });

/** Admits with request numbers in order, as replies that arrive in the order they were sent. */
function inOrder(c: LookupCache): (userId: string, partition: number, body: string) => string[] {
  let n = 0;
  return (userId, partition, body) => {
    const request = n++;
    return c.admit(userId, partition, a(body), request, n);
  };
}

describe('LookupCache', () => {
  it('evicts the least recently looked up user beyond its size, and says whom', () => {
    const c = new LookupCache(2);
    const admit = inOrder(c);
    expect(admit('u1', 0, '1')).toEqual([]);
    expect(admit('u2', 0, '2')).toEqual([]);
    expect(c.get('u1')?.body).toBe('1'); // u2 is now the least recently looked up
    expect(admit('u3', 1, '3')).toEqual(['u2']);
    expect([c.get('u1')?.body, c.get('u2'), c.get('u3')?.body]).toEqual(['1', undefined, '3']);
    expect(c.size).toBe(2);
  });

  it('takes updates only for users it holds, without changing their recency', () => {
    const c = new LookupCache(2);
    const admit = inOrder(c);
    admit('u1', 0, '1');
    admit('u2', 0, '2');
    expect(c.update('u1', { status: 404, body: 'gone' })).toBe(true);
    expect(c.update('nobody', a('x'))).toBe(false);
    expect(c.get('nobody')).toBeUndefined();
    // u1 is still the least recently looked up: an update is not a lookup.
    expect(admit('u3', 0, '3')).toEqual(['u1']);
  });

  it('drops one partition, or everything', () => {
    const c = new LookupCache(10);
    const admit = inOrder(c);
    admit('u1', 0, '1');
    admit('u2', 1, '2');
    c.dropPartition(1);
    expect([c.get('u1')?.body, c.get('u2')]).toEqual(['1', undefined]);
    c.clear();
    expect(c.size).toBe(0);
  });

  it('holds nothing with size 0: every answer is unwatched at once', () => {
    const c = new LookupCache(0);
    const admit = inOrder(c);
    expect(admit('u1', 0, '1')).toEqual(['u1']);
    expect(c.get('u1')).toBeUndefined();
  });
});

describe('LookupCache, replies that cross an eviction', () => {
  it('does not admit a reply to a request sent before the user was evicted', () => {
    // Requests 0 and 1 both ask for u1 (two misses in flight); request 2 asks for u2.
    const c = new LookupCache(1);
    expect(c.admit('u1', 0, a('u1 as of request 0'), 0, 3)).toEqual([]);
    // u2's answer evicts u1; the next request to be sent will be number 3.
    expect(c.admit('u2', 0, a('u2'), 2, 3)).toEqual(['u1']);
    // Request 1 was sent before the eviction: the processing thread handled it before the
    // unwatch, so it no longer watches u1, and holding this answer would keep it forever.
    expect(c.admit('u1', 0, a('u1 as of request 1'), 1, 3)).toEqual([]);
    expect(c.get('u1')).toBeUndefined();
    // A request sent after the eviction was handled after the unwatch: it watches u1 again.
    expect(c.admit('u1', 0, a('u1 as of request 3'), 3, 4)).toEqual(['u2']);
    expect(c.get('u1')?.body).toBe('u1 as of request 3');
  });

  it('forgets evictions no reply still to come can predate', () => {
    const c = new LookupCache(1);
    c.admit('u1', 0, a('1'), 0, 5);
    c.admit('u2', 0, a('2'), 1, 5); // evicts u1 before request 5
    c.admit('u3', 0, a('3'), 6, 9); // evicts u2 before request 9
    expect(c.rememberedEvictions).toBe(2);
    c.settle(7); // request 7 is the oldest outstanding: no later reply predates u1's eviction
    expect(c.rememberedEvictions).toBe(1);
    expect(c.admit('u2', 0, a('2, request 8'), 8, 10)).toEqual([]); // still predates u2's
    c.settle(null); // nothing outstanding
    expect(c.rememberedEvictions).toBe(0);
  });
});

describe('WatchedUsers', () => {
  it('forgets a partition, a user, or everyone', () => {
    const w = new WatchedUsers();
    w.watch('u1', 0);
    w.watch('u2', 1);
    w.watch('u3', 1);
    w.dropPartition(1);
    expect([w.has('u1'), w.has('u2'), w.has('u3')]).toEqual([true, false, false]);
    w.unwatch('u1');
    expect(w.size).toBe(0);
    w.watch('u4', 2);
    w.clear();
    expect(w.has('u4')).toBe(false);
  });
});

describe('OwnerCache', () => {
  it('trusts an owner for its max age, forgets all when the partition count changes or on clear', () => {
    let now = 1_000;
    const o = new OwnerCache(2_000, () => now);
    expect(o.partitions).toBe(0);
    o.learn(2, 'http://b:9464', 4);
    o.learn(3, 'http://c:9464', 4);
    expect([o.partitions, o.ownerOf(2), o.ownerOf(1)]).toEqual([4, 'http://b:9464', undefined]);
    now = 2_999;
    expect(o.ownerOf(2)).toBe('http://b:9464');
    now = 3_000;
    expect(o.ownerOf(2)).toBeUndefined();
    o.learn(2, 'http://b:9464', 6);
    expect([o.partitions, o.ownerOf(3)]).toEqual([6, undefined]);
    o.clear();
    expect(o.ownerOf(2)).toBeUndefined();
  });
});
