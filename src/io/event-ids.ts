/**
 * The one derivation of event ids for dataset rows: replaying the same rows in the same order
 * always gives the same ids, so the processor's dedup recognises a re-sent row. Rows that repeat
 * exactly (same user, item, kind and event time: datasets do hold such rows) are numbered by
 * order of appearance, so each keeps an id of its own.
 */
import { createHash } from 'node:crypto';
import type { DatasetRow } from './datasets';

/** Event id of the `occurrence`-th (from 0) appearance of `row`; `prefix` keeps sources apart. */
export function rowEventId(prefix: string, row: DatasetRow, occurrence: number): string {
  const h = createHash('sha256')
    .update(`${row.userId}|${row.itemId}|${row.categoryId}|${row.kind}|${row.eventTimeMs}|${occurrence}`)
    .digest('base64url')
    .slice(0, 22);
  return `${prefix}-${h}`;
}

/** A stateful namer for one pass over a row stream: call it once per row, in order. */
export function eventIdNamer(prefix: string): (row: DatasetRow) => string {
  const seen = new Map<string, number>();
  return (row) => {
    const base = `${row.userId}|${row.itemId}|${row.kind}|${row.eventTimeMs}`;
    const occurrence = seen.get(base) ?? 0;
    seen.set(base, occurrence + 1);
    return rowEventId(prefix, row, occurrence);
  };
}
