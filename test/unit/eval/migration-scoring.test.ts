import type { DatasetRow } from '../../../src/io/datasets';
import { locateChange, shuffledInTime } from '../../../src/eval/evaluate';
import type { UserTruth } from '../../../src/eval/migration-scoring';
import { scoreDetections } from '../../../src/eval/migration-scoring';

const DAY = 86_400_000;
const truth = new Map<string, UserTruth>([
  ['mover', { positive: true, changeTimeMs: 1000, changeIndex: 50, events: 100, spanMs: DAY }],
  ['stable', { positive: false, changeTimeMs: Infinity, changeIndex: -1, events: 100, spanMs: DAY }],
  ['missed', { positive: true, changeTimeMs: 1000, changeIndex: 50, events: 100, spanMs: DAY }],
]);

describe('migration scoring', () => {
  it('delay-bounded recall counts only catches within 48 h or 50 events; detectable recall only users with 20+ events after the change', () => {
    const HOUR = 3_600_000;
    const t = new Map<string, UserTruth>([
      ['fast', { positive: true, changeTimeMs: 0, changeIndex: 10, events: 100, spanMs: DAY }],
      ['slow', { positive: true, changeTimeMs: 0, changeIndex: 10, events: 200, spanMs: 10 * DAY }],
      ['short', { positive: true, changeTimeMs: 0, changeIndex: 90, events: 100, spanMs: DAY }],
    ]);
    const s = scoreDetections(t, [
      { userId: 'fast', eventTimeMs: 10 * HOUR, eventIndex: 30 }, // 20 events, 10 h: in bound
      { userId: 'slow', eventTimeMs: 72 * HOUR, eventIndex: 120 }, // 110 events, 72 h: too late
    ]);
    expect(s.recall).toBeCloseTo(2 / 3, 12);
    expect(s.recallWithinBound).toBeCloseTo(1 / 3, 12);
    expect(s.detectablePositives).toBe(2); // 'short' has 10 events after its change
    expect(s.recallDetectable).toBe(1);
  });

  it('counts the first alert after the change as the hit and everything else as false alarms', () => {
    const s = scoreDetections(truth, [
      { userId: 'mover', eventTimeMs: 500, eventIndex: 20 }, // before the change: false alarm
      { userId: 'mover', eventTimeMs: 1500, eventIndex: 62 }, // hit, 12 events late
      { userId: 'mover', eventTimeMs: 2500, eventIndex: 90 }, // repeat: false alarm
      { userId: 'stable', eventTimeMs: 700, eventIndex: 30 }, // false alarm on a negative
      { userId: 'ambiguous', eventTimeMs: 700, eventIndex: 30 }, // not scored
    ]);
    expect(s.alerts).toBe(4);
    expect(s.truePositives).toBe(1);
    expect(s.falseAlarms).toBe(3);
    expect(s.precision).toBe(0.25);
    expect(s.recall).toBe(0.5);
    expect(s.falseAlarmUserRate).toBe(1);
    expect(s.delaysEvents).toEqual([12]);
    expect(s.alertsPer1kEvents).toBeCloseTo((4 / 300) * 1000, 9);
    expect(s.falseAlarmsPerUserDay).toBeCloseTo(1, 9);
  });

  it('locates the change point where the categories before and after differ most', () => {
    const rows = (cats: string[], n: number, offset: number): DatasetRow[] =>
      Array.from({ length: n }, (_, i) => ({
        userId: 'u',
        itemId: 'i',
        categoryId: cats[i % cats.length] as string,
        kind: 'view' as const,
        eventTimeMs: offset + i,
        sessionId: null,
        priceMinorUnits: null,
      }));
    const list = [...rows(['a', 'b'], 70, 0), ...rows(['c', 'd'], 50, 70)];
    expect(locateChange(list)).toBe(70);
  });
});

describe('shuffledInTime (null check of the real-data label)', () => {
  it("keeps each user's times and categories but not their order", () => {
    const rows: DatasetRow[] = Array.from({ length: 60 }, (_, i) => ({
      userId: i % 2 ? 'u' : 'v',
      itemId: `i${i}`,
      categoryId: i < 30 ? 'early' : 'late',
      kind: 'view',
      eventTimeMs: i * 1000,
    })) as DatasetRow[];
    const out = shuffledInTime(rows, 3);
    expect(out.map((r) => r.eventTimeMs)).toEqual(rows.map((r) => r.eventTimeMs));
    for (const u of ['u', 'v']) {
      const cats = (xs: DatasetRow[]): string[] =>
        xs
          .filter((r) => r.userId === u)
          .map((r) => r.categoryId)
          .sort();
      expect(cats(out)).toEqual(cats(rows));
    }
    expect(out.slice(0, 30).some((r) => r.categoryId === 'late')).toBe(true);
    expect(shuffledInTime(rows, 3)).toEqual(out);
  });
});
