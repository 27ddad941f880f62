/**
 * The partition task's lock: a batch may return while its last transaction is still committing,
 * and the task's next locked call must wait for that transaction to settle.
 */
import type { PartitionTask, StillRunning } from '../../../src/kafka/partition-task';
import { withLock, withLockUntilSettled } from '../../../src/kafka/partition-task';

function lockOnly(): PartitionTask {
  return { lock: Promise.resolve() } as PartitionTask;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('withLockUntilSettled', () => {
  it('returns when the call returns, and holds the lock until the work it handed back settles', async () => {
    const task = lockOnly();
    const committing = deferred();
    const order: string[] = [];
    await withLockUntilSettled(task, () => {
      order.push('batch');
      return Promise.resolve<StillRunning>({
        settled: committing.promise.then(() => void order.push('committed')),
      });
    });
    order.push('batch returned');
    const next = withLock(task, () => Promise.resolve(void order.push('next batch')));
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['batch', 'batch returned']);
    committing.resolve();
    await next;
    expect(order).toEqual(['batch', 'batch returned', 'committed', 'next batch']);
  });

  it('releases the lock at once when nothing is left running, and after a failed call', async () => {
    const task = lockOnly();
    await withLockUntilSettled(task, () => Promise.resolve(null));
    await expect(withLockUntilSettled(task, () => Promise.reject(new Error('bad batch')))).rejects.toThrow(
      'bad batch',
    );
    await expect(withLock(task, () => Promise.resolve('ran'))).resolves.toBe('ran');
  });

  it('waits for earlier locked calls before it runs', async () => {
    const task = lockOnly();
    const flush = deferred();
    const order: string[] = [];
    const first = withLock(task, () => flush.promise.then(() => void order.push('flush')));
    const batch = withLockUntilSettled(task, () => {
      order.push('batch');
      return Promise.resolve(null);
    });
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([]);
    flush.resolve();
    await Promise.all([first, batch]);
    expect(order).toEqual(['flush', 'batch']);
  });
});
