import { levelOf, nextLevelDueMs, riskAt } from '../../../src/core/churn-scorer';
import { DEFAULT_PARAMS } from '../../../src/core/params';

const p = DEFAULT_PARAMS.churn;

describe('churn scorer', () => {
  it('starts at the model probability and rises monotonically with idle time towards 1', () => {
    expect(riskAt(0.2, 0, p)).toBeCloseTo(0.2, 12);
    let last = 0;
    for (const idle of [0, 3_600_000, 86_400_000, 10 * 86_400_000]) {
      const r = riskAt(0.2, idle, p);
      expect(r).toBeGreaterThanOrEqual(last);
      last = r;
    }
    expect(last).toBeGreaterThan(0.99);
  });

  it('schedules each level exactly where the risk crosses its threshold', () => {
    for (let level = 0; level < 3; level++) {
      const due = nextLevelDueMs(0.1, 1_000_000, level, p);
      expect(levelOf(riskAt(0.1, due - 1_000_000, p), p)).toBe(level + 1);
      expect(levelOf(riskAt(0.1, due - 1_000_000 - 2, p), p)).toBe(level);
    }
    expect(nextLevelDueMs(0.1, 0, 3, p)).toBe(0);
    expect(nextLevelDueMs(0.99, 5, 0, p)).toBe(6);
  });
});
