import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { assertKafkajsPatched, kafkajsPatched } from '../../../src/kafka/kafkajs-patch';

interface Batch {
  lastOffset(): string;
  isEmpty(): boolean;
  isEmptyDueToFiltering(): boolean;
}
const requireHere = createRequire(__filename);
const BatchClass = requireHere('kafkajs/src/consumer/batch') as new (
  topic: string,
  fetchedOffset: string,
  data: { partition: number; highWatermark: string; messages: unknown[]; abortedTransactions: [] },
) => Batch;

const message = (offset: number) => ({ offset: String(offset), key: null, value: null, headers: {} });
const batch = (fetched: number, messages: unknown[], lastBatchOffset?: number): Batch =>
  new BatchClass('t', String(fetched), {
    partition: 0,
    highWatermark: '100',
    messages:
      lastBatchOffset === undefined
        ? messages
        : Object.assign(messages, { lastBatchOffset: String(lastBatchOffset) }),
    abortedTransactions: [],
  });

describe('the kafkajs patch (patches/kafkajs+2.2.4.patch)', () => {
  it('is installed', () => {
    expect(kafkajsPatched()).toBe(true);
    expect(() => assertKafkajsPatched()).not.toThrow();
  });

  it('moves past a record batch the log cleaner emptied (offsets 1565..1568, no records)', () => {
    const b = batch(1565, [], 1568);
    expect(b.isEmpty()).toBe(true);
    // the runner resolves lastOffset() for such a batch: the next fetch starts at 1569
    expect(b.isEmptyDueToFiltering()).toBe(true);
    expect(b.lastOffset()).toBe('1568');
  });

  it('moves past a batch whose surviving records all lie before the fetched offset', () => {
    const b = batch(12, [message(10), message(11)], 15);
    expect(b.isEmptyDueToFiltering()).toBe(true);
    expect(b.lastOffset()).toBe('15');
  });

  it('ends a non-empty fetch at the last batch end, past a compacted tail', () => {
    expect(batch(0, [message(0), message(3)], 7).lastOffset()).toBe('7');
  });

  it('keeps kafkajs behaviour without batch bounds (empty fetch: nothing to resolve)', () => {
    const b = batch(5, []);
    expect(b.isEmptyDueToFiltering()).toBe(false);
    expect(batch(0, [message(0), message(3)]).lastOffset()).toBe('3');
  });
});

describe('the kafkajs patch: no negative timer in the request queue', () => {
  it('schedules its idle check without a TimeoutNegativeWarning (throttledUntil −1, nothing pending)', () => {
    // In a child process: Jest's sandbox does not see the warnings Node's timers emit.
    const script = `
      const RequestQueue = require('kafkajs/src/network/requestQueue');
      const noop = () => {};
      const q = new RequestQueue({ instrumentationEmitter: null, maxInFlightRequests: null, requestTimeout: 1000,
        enforceRequestTimeout: true, clientId: 't', broker: 'localhost:0',
        logger: { debug: noop, info: noop, warn: noop, error: noop }, isConnected: () => true });
      q.scheduleCheckPendingRequests();
      setTimeout(() => { q.destroy(); console.log('checked'); }, 20);`;
    const run = spawnSync(process.execPath, ['-e', script], {
      cwd: join(__dirname, '../../..'),
      encoding: 'utf8',
    });
    expect(run.stdout).toContain('checked');
    expect(run.stderr).not.toContain('TimeoutNegativeWarning');
  });
});
