import type { DatasetRow } from '../../../src/io/datasets';
import { eventIdNamer, rowEventId } from '../../../src/io/event-ids';

const row = (over: Partial<DatasetRow> = {}): DatasetRow => ({
  userId: 'u1',
  itemId: 'i1',
  categoryId: 'c1',
  kind: 'view',
  eventTimeMs: 1_700_000_000_000,
  sessionId: null,
  priceMinorUnits: null,
  ...over,
});

describe('event ids of dataset rows', () => {
  it('are deterministic and keep sources apart by prefix', () => {
    expect(rowEventId('a', row(), 0)).toBe(rowEventId('a', row(), 0));
    expect(rowEventId('a', row(), 0)).not.toBe(rowEventId('b', row(), 0));
    expect(rowEventId('a', row(), 0)).toMatch(/^a-[A-Za-z0-9_-]{22}$/);
  });

  it('number exact repeats, so each row keeps an id of its own, the same on every replay', () => {
    const rows = [row(), row({ itemId: 'i2' }), row(), row()];
    const first = rows.map(eventIdNamer('p'));
    const again = rows.map(eventIdNamer('p'));
    expect(new Set(first).size).toBe(4);
    expect(again).toEqual(first);
    expect(first[2]).toBe(rowEventId('p', row(), 1));
  });
});
