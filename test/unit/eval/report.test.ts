import type { Interval } from '../../../src/eval/bootstrap';
import type { BudgetResult, BudgetRow } from '../../../src/eval/evaluate';
import { CATEGORIES_ONLY, OURS } from '../../../src/eval/evaluate';
import type { DetectionScore } from '../../../src/eval/migration-scoring';
import type { SetReport } from '../../../src/eval/report';
import { budgetVerdicts } from '../../../src/eval/report';

const ci = (estimate: number, lo: number, hi: number): Interval => ({ estimate, lo, hi });
const row = (method: string, recall: number, lo: number, hi: number): BudgetRow => ({
  method,
  param: 0.5,
  trainStableAlertRate: 0.09,
  score: { recall, falseAlarmUserRate: 0.1 } as DetectionScore,
  intervals: {
    recall: ci(recall, lo, hi),
    stableAlertRate: ci(0.1, 0, 0.2),
    precision: ci(0.5, 0.4, 0.6),
    f1: ci(0.3, 0.2, 0.4),
  },
});
const setWith = (budget: BudgetResult): SetReport =>
  ({ name: 'set', kind: 'simulated', migration: { budgets: [budget] } }) as unknown as SetReport;

describe('budgetVerdicts: what the encoder term adds', () => {
  const rows = [
    row(OURS, 0.23, 0.19, 0.27),
    row(CATEGORIES_ONLY, 0.15, 0.12, 0.18),
    row('js-divergence', 0.16, 0.12, 0.19),
  ];

  it('reads the paired difference when the report has it', () => {
    const [line] = budgetVerdicts(
      setWith({
        budget: 0.1,
        rows,
        encoderAblation: {
          recall: ci(0.08, -0.01, 0.15),
          f1: ci(0.047, 0.034, 0.063),
          stableAlertRate: ci(0, -0.02, 0.02),
        },
      }),
    );
    expect(line).toContain(
      'the encoder term adds recall +8.0 [−1.0 to +15.0] pt and F1 +0.047 [+0.034 to +0.063]',
    );
    expect(line).toContain('nothing measurable in recall, F1 beyond the interval');
  });

  it('says when the encoder term costs, and falls back to separate intervals without a pairing', () => {
    const [costs] = budgetVerdicts(
      setWith({
        budget: 0.05,
        rows,
        encoderAblation: {
          recall: ci(-0.05, -0.09, -0.01),
          f1: ci(0, -0.01, 0.01),
          stableAlertRate: ci(0, 0, 0),
        },
      }),
    );
    expect(costs).toContain('**costs recall**, nothing measurable in F1');
    const [old] = budgetVerdicts(setWith({ budget: 0.1, rows }));
    expect(old).toContain('the encoder term adds recall beyond the intervals');
  });
});
