import { keyValueBytes, splitBySize } from '../../../src/kafka/output-transaction';

describe('splitBySize', () => {
  it('keeps every message, in order, in requests under the byte budget', () => {
    const big = Buffer.alloc(300);
    const input = [
      { topic: 'a', messages: Array.from({ length: 10 }, (_, i) => ({ key: `a${i}`, value: big })) },
      { topic: 'b', messages: Array.from({ length: 3 }, (_, i) => ({ key: `b${i}`, value: null })) },
    ];
    const requests = splitBySize(input, 1000);
    expect(requests.length).toBeGreaterThan(3);
    const flat = requests.flatMap((r) =>
      r.flatMap((t) => t.messages.map((m) => `${t.topic}:${String(m.key)}`)),
    );
    expect(flat).toEqual([
      ...input[0]!.messages.map((m) => `a:${m.key}`),
      ...input[1]!.messages.map((m) => `b:${m.key}`),
    ]);
    for (const r of requests) {
      const bytes = r.reduce(
        (n, t) => n + t.messages.reduce((k, m) => k + 64 + String(m.key).length + (m.value?.length ?? 0), 0),
        0,
      );
      expect(bytes).toBeLessThanOrEqual(1000);
    }
  });
});

describe('keyValueBytes', () => {
  it('counts the keys (UTF-8) and values of one topic, tombstones by their key alone', () => {
    const input = [
      { topic: 'changelog', messages: [{ key: 'ü1', value: Buffer.alloc(10) }] },
      { topic: 'profiles', messages: [{ key: 'p', value: Buffer.alloc(100) }] },
      { topic: 'changelog', messages: [{ key: 'ab', value: null }] },
    ];
    expect(keyValueBytes(input, 'changelog')).toBe(3 + 10 + 2);
    expect(keyValueBytes(input, 'profiles')).toBe(101);
    expect(keyValueBytes(input, 'none')).toBe(0);
  });
});
