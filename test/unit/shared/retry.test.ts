import { withRetry } from '../../../src/shared/retry';

describe('withRetry', () => {
  it('retries what shouldRetry accepts, with growing jittered delays capped at maxDelayMs', async () => {
    let calls = 0;
    const delays: number[] = [];
    const attempts: number[] = [];
    const value = await withRetry(
      (attempt) => {
        attempts.push(attempt);
        return ++calls < 5 ? Promise.reject(new Error('transient')) : Promise.resolve('ok');
      },
      {
        initialDelayMs: 1,
        maxDelayMs: 8,
        maxRetries: 10,
        shouldRetry: () => true,
        onRetry: (_e, _n, d) => void delays.push(d),
      },
    );
    expect(value).toBe('ok');
    expect(attempts).toEqual([0, 1, 2, 3, 4]);
    expect(delays).toHaveLength(4);
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(8);
    }
  });

  it('throws the error unchanged when shouldRetry says no', async () => {
    const bug = new TypeError('bug');
    let calls = 0;
    await expect(
      withRetry(
        () => {
          calls++;
          return Promise.reject(bug);
        },
        { initialDelayMs: 1, maxDelayMs: 2, maxRetries: 5, shouldRetry: (e) => !(e instanceof TypeError) },
      ),
    ).rejects.toBe(bug);
    expect(calls).toBe(1);
  });

  it('gives up after maxRetries with the last error', async () => {
    let calls = 0;
    await expect(
      withRetry(() => Promise.reject(new Error(`failure ${++calls}`)), {
        initialDelayMs: 1,
        maxDelayMs: 2,
        maxRetries: 3,
        shouldRetry: () => true,
      }),
    ).rejects.toThrow('failure 4');
  });
});
