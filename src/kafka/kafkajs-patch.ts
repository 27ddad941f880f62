/**
 * kafkajs 2.2.4 (unmaintained since 2023) cannot read past a record batch that the log cleaner
 * emptied, e.g. the batch of an aborted transaction in a compacted topic: the fetch returns a
 * batch with no records, kafkajs fetches the same offset again, forever (kafkajs#1072). Restore
 * reads the compacted changelog to its end, so an unpatched client hangs there (chaos seed 5,
 * CI run of bc266dd). patches/kafkajs+2.2.4.patch, applied by npm's postinstall (patch-package),
 * moves the position to the end of the last fetched record batch, as the Java client does.
 *
 * assertKafkajsPatched() checks the behaviour once and throws INVARIANT_VIOLATED when the
 * installed kafkajs lacks the patch (an install that skipped the postinstall): better a loud
 * start-up failure than a restore that never ends.
 */
import { createRequire } from 'node:module';
import { ProcessorError } from '../shared/errors';

interface KafkajsBatch {
  lastOffset(): string;
  isEmptyDueToFiltering(): boolean;
}
type BatchClass = new (
  topic: string,
  fetchedOffset: string,
  partitionData: { partition: number; highWatermark: string; messages: unknown[]; abortedTransactions: [] },
) => KafkajsBatch;

let checked = false;

/** True when a fetched, cleaned-out record batch (offsets 5..8, no records) moves the position to 8. */
export function kafkajsPatched(): boolean {
  const requireFromHere = createRequire(__filename);
  const Batch = requireFromHere('kafkajs/src/consumer/batch') as BatchClass;
  const messages = Object.assign([], { lastBatchOffset: '8' });
  const batch = new Batch('t', '5', { partition: 0, highWatermark: '20', messages, abortedTransactions: [] });
  return batch.lastOffset() === '8' && batch.isEmptyDueToFiltering();
}

export function assertKafkajsPatched(): void {
  if (checked) return;
  if (!kafkajsPatched()) {
    throw new ProcessorError(
      'INVARIANT_VIOLATED',
      'the installed kafkajs lacks patches/kafkajs+2.2.4.patch (npm install must run its postinstall, patch-package): ' +
        'without it, reading a compacted topic can stop for good at a batch the log cleaner emptied',
    );
  }
  checked = true;
}
