import { compareCompacted } from '../../system/lib/verify';

const seq = (entries: [string, number[]][]): Map<string, unknown[]> => new Map(entries);

describe('compareCompacted (a compacted output topic against the reference)', () => {
  it('accepts records removed by compaction when a later one of the same key survives', () => {
    const r = compareCompacted(seq([['u', [1, 2, 3, 4]]]), seq([['u', [2, 4]]]));
    expect(r).toMatchObject({ duplicates: 0, missing: 0, mismatches: 0, compactedAway: 2 });
  });

  it('counts the reference records after the last surviving one as missing', () => {
    const r = compareCompacted(
      seq([
        ['u', [1, 2, 3]],
        ['v', [9]],
      ]),
      seq([['u', [1, 2]]]),
    );
    expect(r).toMatchObject({ missing: 2, duplicates: 0, mismatches: 0 });
  });

  it('counts a repeat the reference does not have as a duplicate, an unknown record as a mismatch', () => {
    expect(compareCompacted(seq([['u', [1, 2]]]), seq([['u', [1, 2, 2]]]))).toMatchObject({ duplicates: 1 });
    expect(compareCompacted(seq([['u', [1, 2]]]), seq([['u', [1, 7, 2]]]))).toMatchObject({ mismatches: 1 });
    // out of order: 2 then 1 — the 1 cannot follow the 2
    expect(compareCompacted(seq([['u', [1, 2]]]), seq([['u', [2, 1]]]))).toMatchObject({ mismatches: 1 });
  });
});
