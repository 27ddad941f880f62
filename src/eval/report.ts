/**
 * Renders the evaluation report (README.md of the output folder). The first screen is a summary
 * for readers who will not read the rest; the tables and plots follow.
 */
import type { BaselineName } from './baselines';
import type { Interval, PairedDetectionDifference } from './bootstrap';
import type {
  BudgetRow,
  ChurnEval,
  MeanSd,
  MethodResult,
  MigrationEval,
  NextCategoryEval,
  NullCheck,
  SeedSpread,
} from './evaluate';
import { CATEGORIES_ONLY, OURS } from './evaluate';
import type { DetectionScore } from './migration-scoring';
import type { PairedDifference } from './next-category-baselines';

export interface SetReport {
  readonly name: string;
  readonly kind: 'real' | 'simulated';
  readonly source: string;
  readonly users: number;
  readonly events: number;
  readonly positives: number;
  readonly negatives: number;
  readonly migration: MigrationEval;
  readonly churn: ChurnEval;
  /** The same at a 48 h horizon (real data only). */
  readonly churnLonger?: ChurnEval | null;
  /** Labels and alerts with each user's events shuffled in time (real data only). */
  readonly nullCheck?: NullCheck | null;
  readonly nextCategory: NextCategoryEval | null;
}

export interface EvalReport {
  readonly generatedBy: string;
  readonly modelVersion: string;
  readonly drift: {
    enterThreshold: number;
    exitThreshold: number;
    minEvidenceEvents: number;
    cooldownMs: number;
  };
  readonly baselineParams: Record<BaselineName, number>;
  readonly baselineParamsSource: string;
  /** Per baseline: share of the calibration users' stable users alerted, and whether the target was reachable. */
  readonly baselineCalibration: Record<string, { stableAlertRate: number; targetMet: boolean }> | null;
  readonly sets: SetReport[];
  /** The simulated scenario over several seeds (absent when only one ran). */
  readonly simSeeds?: SeedSpread[] | SeedSpread | null;
  readonly reference: { modelEval: unknown };
}

/** File-name prefix of a set's plots (src/eval/plot_report.py uses the same rule). */
const plotPrefix = (set: SetReport): string =>
  set.kind === 'real' ? 'real' : set.name.includes('hard') ? 'sim-hard' : 'sim';
const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(1)} %` : 'n/a');
const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
/** A 95 % bootstrap interval as "[lo–hi]" (empty when there is none). */
const pctCi = (i: Interval | undefined): string =>
  i && Number.isFinite(i.lo) ? `[${(i.lo * 100).toFixed(1)}–${(i.hi * 100).toFixed(1)}]` : '';
const f3Ci = (i: Interval | undefined): string =>
  i && Number.isFinite(i.lo) ? `[${i.lo.toFixed(3)}–${i.hi.toFixed(3)}]` : '';
const f1d = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');

function ours(set: SetReport): MethodResult {
  return set.migration.methods[0] as MethodResult;
}

function baselines(set: SetReport): MethodResult[] {
  return set.migration.methods.slice(1);
}

/** Best F1 among the baselines at their calibrated parameters. */
function bestBaselineF1(set: SetReport): MethodResult {
  return baselines(set).reduce((a, b) => (b.atCalibrated.f1 > a.atCalibrated.f1 ? b : a));
}

/**
 * Top-category-changed at equal or better recall than ours: the lowest false-alarm rate over its
 * sweep among points whose recall is at least ours; null when no point reaches our recall.
 */
export function topCategoryAtOurRecall(set: SetReport): DetectionScore | null {
  const target = ours(set).atCalibrated.recall;
  const tc = set.migration.methods.find((m) => m.method === 'top-category-changed');
  if (!tc) return null;
  const candidates = [tc.atCalibrated, ...tc.sweep.map((p) => p.score)].filter((s) => s.recall >= target);
  if (candidates.length === 0) return null;
  return candidates.reduce((a, b) => (b.falseAlarmUserRate < a.falseAlarmUserRate ? b : a));
}

export interface Verdicts {
  readonly simBeatsAllOnF1: boolean | null;
  readonly realLowerFalseAlarmsThanTopCategory: boolean | null;
}

export function verdicts(report: EvalReport): Verdicts {
  const sim = report.sets.find((s) => s.kind === 'simulated');
  const real = report.sets.find((s) => s.kind === 'real');
  let simBeats: boolean | null = null;
  if (sim) simBeats = baselines(sim).every((b) => ours(sim).atCalibrated.f1 > b.atCalibrated.f1);
  let realBeats: boolean | null = null;
  if (real) {
    const tc = topCategoryAtOurRecall(real);
    realBeats = tc === null ? true : ours(real).atCalibrated.falseAlarmUserRate < tc.falseAlarmUserRate;
  }
  return { simBeatsAllOnF1: simBeats, realLowerFalseAlarmsThanTopCategory: realBeats };
}

const yesNo = (b: boolean | null): string => (b === null ? 'not measured' : b ? '**yes**' : '**no**');

const overlaps = (a: Interval, b: Interval): boolean => a.lo <= b.hi && b.lo <= a.hi;
/** A difference with its interval: "+a [+lo to +hi]", `scale` applied (100 for points). */
export const signedCi = (i: Interval, digits: number, scale = 1): string => {
  const sign = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x * scale).toFixed(digits)}`;
  return `${sign(i.estimate)} [${sign(i.lo)} to ${sign(i.hi)}]`;
};
const excludesZero = (i: Interval): boolean => i.lo > 0 || i.hi < 0;
/** "; paired difference to X: HR@10 +a pt [lo–hi], NDCG@10 +b [lo–hi]" (interval excluding 0 said so). */
const pairedWords = (d: { method: string; all: PairedDifference } | undefined): string => {
  if (!d) return '';
  return (
    `; paired difference to ${d.method} (users resampled in pairs): HR@10 ${signedCi(d.all.hrAt10, 1, 100)} pt, ` +
    `NDCG@10 ${signedCi(d.all.ndcgAt10, 3, 1)}` +
    (excludesZero(d.all.hrAt10) && excludesZero(d.all.ndcgAt10)
      ? ', both intervals exclude 0'
      : excludesZero(d.all.hrAt10) || excludesZero(d.all.ndcgAt10)
        ? `, only the ${excludesZero(d.all.hrAt10) ? 'HR@10' : 'NDCG@10'} interval excludes 0`
        : ', both intervals include 0')
  );
};
const pairedAucWords = (d: { method: string; aucDifference: Interval } | undefined): string => {
  if (!d) return '';
  const i = d.aucDifference;
  return `; paired AUC difference (users resampled in pairs) ${signedCi(i, 3)}${excludesZero(i) ? ', the interval excludes 0' : ', the interval includes 0'}`;
};
const overlapWords = (a: Interval | undefined, b: Interval | undefined): string =>
  !a || !b ? 'no intervals' : overlaps(a, b) ? 'the intervals overlap' : 'the intervals do not overlap';

/**
 * What the encoder term adds: from the paired difference (ours − categories only, users resampled
 * in pairs) when the report has it, else from the separate intervals.
 */
function ablationWords(
  ours: BudgetRow,
  cats: BudgetRow,
  paired: PairedDetectionDifference | undefined,
): string {
  if (!paired) {
    const verdict = overlaps(ours.intervals.recall, cats.intervals.recall)
      ? 'adds nothing measurable'
      : ours.score.recall > cats.score.recall
        ? 'adds recall beyond the intervals'
        : 'costs recall beyond the intervals';
    return `the encoder term ${verdict}`;
  }
  const said = (i: Interval, what: string): string =>
    !excludesZero(i)
      ? `nothing measurable in ${what}`
      : i.lo > 0
        ? `${what} beyond the interval`
        : `**costs ${what}**`;
  return (
    `paired with it (users resampled in pairs), the encoder term adds recall ${signedCi(paired.recall, 1, 100)} pt and ` +
    `F1 ${signedCi(paired.f1, 3)}: ${said(paired.recall, 'recall')}, ${said(paired.f1, 'F1')}`
  );
}

/** Plain statements of where we win, tie or lose at the matched budgets, and what the encoder adds. */
export function budgetVerdicts(set: SetReport): string[] {
  const budgets = (set.migration as Partial<MigrationEval>).budgets ?? [];
  const out: string[] = [];
  for (const b of budgets) {
    const ours = b.rows.find((r) => r.method === OURS);
    const cats = b.rows.find((r) => r.method === CATEGORIES_ONLY);
    const best = b.rows
      .filter((r) => !r.method.startsWith('interest-drift'))
      .sort((x, y) => y.score.recall - x.score.recall)[0];
    if (!ours || !best) continue;
    const cmp = overlaps(ours.intervals.recall, best.intervals.recall)
      ? 'the intervals overlap: no measurable difference'
      : ours.score.recall > best.score.recall
        ? 'we are ahead beyond the intervals'
        : '**we are behind beyond the intervals**';
    out.push(
      `- ${set.name}, budget ${pct(b.budget)} of stable train users: ours recall ${pct(ours.score.recall)} ${pctCi(ours.intervals.recall)} ` +
        `(stable alerted here ${pct(ours.score.falseAlarmUserRate)}) vs best baseline ${best.method} ${pct(best.score.recall)} ${pctCi(best.intervals.recall)} ` +
        `(stable ${pct(best.score.falseAlarmUserRate)}): ${cmp}.` +
        (cats
          ? ` Ablation: categories only ${pct(cats.score.recall)} ${pctCi(cats.intervals.recall)}; ${ablationWords(ours, cats, b.encoderAblation)}.`
          : ''),
    );
  }
  return out;
}

function summary(report: EvalReport): string[] {
  const lines: string[] = [];
  const sim = report.sets.find((s) => s.kind === 'simulated');
  const real = report.sets.find((s) => s.kind === 'real');
  const v = verdicts(report);
  const standing = report.sets.flatMap(budgetVerdicts);
  if (standing.length > 0)
    lines.push(
      '**Where we stand at matched false-alarm budgets** (95 % user-level bootstrap intervals):',
      '',
      ...standing,
      '',
    );
  if (sim) {
    const o = ours(sim).atCalibrated;
    const b = bestBaselineF1(sim);
    lines.push(
      `- **Interest migrations, simulated users with a known migration** (${sim.positives} migrating, ${sim.negatives} not): ` +
        `we flag ${pct(o.recall)} of the migrations; ${pct(o.precision)} of our alerts are right (F1 ${f3(o.f1)}); ` +
        `median delay ${f1d(o.delayEventsP50)} events after the switch; ${o.falseAlarmsPerUserDay.toFixed(3)} false alarms per user-day. ` +
        `Best baseline: ${b.method}, F1 ${f3(b.atCalibrated.f1)}.`,
    );
  }
  if (real) {
    const o = ours(real).atCalibrated;
    const tc = real.migration.methods.find((m) => m.method === 'top-category-changed')?.atCalibrated;
    lines.push(
      `- **Interest migrations, real Taobao users** (${real.positives} whose interests really moved, ${real.negatives} stable): ` +
        `we alert on ${pct(o.recall)} of the movers (in their second half) and on ${pct(o.falseAlarmUserRate)} of stable users; ` +
        `${o.alertsPer1kEvents.toFixed(2)} alerts per 1,000 events.` +
        (tc
          ? ` The simplest rule, "top category changed", alerts on ${pct(tc.recall)} of movers and ${pct(tc.falseAlarmUserRate)} of stable users.`
          : ''),
    );
  }
  for (const set of report.sets) {
    const m = set.churn.methods;
    const [a, r, f, lr] = [m[0], m[1], m[2], m.find((x) => x.method.startsWith('logistic regression'))];
    if (a && r && f) {
      const best = [r, f, ...(lr ? [lr] : [])].sort((x, y) => y.rocAuc - x.rocAuc)[0] as typeof a;
      const verdict =
        a.rocAucInterval && best.rocAucInterval && !overlaps(a.rocAucInterval, best.rocAucInterval)
          ? a.rocAuc > best.rocAuc
            ? 'ahead of the best simple score beyond the intervals'
            : '**behind the best simple score beyond the intervals**'
          : a.rocAuc > best.rocAuc
            ? 'ahead of the best simple score, but the intervals overlap'
            : '**not ahead of the best simple score**';
      lines.push(
        `- **Churn risk, ${set.name}** (${set.churn.label}): ROC AUC ${f3(a.rocAuc)} ${f3Ci(a.rocAucInterval)} ` +
          `vs ${f3(r.rocAuc)} ${f3Ci(r.rocAucInterval)} for idle time alone and ${f3(f.rocAuc)} ${f3Ci(f.rocAucInterval)} for activity frequency alone` +
          (lr
            ? `, ${f3(lr.rocAuc)} ${f3Ci(lr.rocAucInterval)} for a logistic regression on recency/frequency`
            : '') +
          (Number.isFinite(a.withinUsersAuc)
            ? `; within users ${f3(a.withinUsersAuc)} vs ${f3(r.withinUsersAuc)} and ${f3(f.withinUsersAuc)}`
            : '') +
          `: ${verdict} (${best.method})` +
          pairedAucWords(set.churn.oursVs?.find((d) => d.method === best.method)) +
          '.',
      );
    }
  }
  for (const set of report.sets) {
    const nc = set.nextCategory;
    if (!nc) continue;
    const best = [...(nc.baselines ?? [])].sort((a, b) => b.all.hrAt10 - a.all.hrAt10)[0];
    const bestNr = [...(nc.baselines ?? [])].sort(
      (a, b) => b.withoutRepeats.hrAt10 - a.withoutRepeats.hrAt10,
    )[0];
    const head = nc.head;
    if (head && best) {
      const bestNdcg = [...nc.baselines].sort((a, b) => b.all.ndcgAt10 - a.all.ndcgAt10)[0] ?? best;
      const beats = head.all.hrAt10 > best.all.hrAt10 && head.all.ndcgAt10 > bestNdcg.all.ndcgAt10;
      lines.push(
        `- **Next category, ${set.name}, repeat-aware head**: ${beats ? 'ahead of every baseline on HR@10 and NDCG@10' : '**not ahead of every baseline**'}: ` +
          `HR@10 ${pct(head.all.hrAt10)} ${pctCi(head.all.hrAt10Interval)} vs ${best.method} ${pct(best.all.hrAt10)} ${pctCi(best.all.hrAt10Interval)}; ` +
          `NDCG@10 ${f3(head.all.ndcgAt10)} ${f3Ci(head.all.ndcgAt10Interval)} vs ${bestNdcg.method} ${f3(bestNdcg.all.ndcgAt10)} ${f3Ci(bestNdcg.all.ndcgAt10Interval)}` +
          ` (${overlapWords(head.all.ndcgAt10Interval, bestNdcg.all.ndcgAt10Interval)})` +
          pairedWords(nc.headVsBaselines?.find((d) => d.method === best.method)) +
          `. Without in-session repeats: head ${pct(head.withoutRepeats.hrAt10)}` +
          (bestNr ? `, best baseline ${bestNr.method} ${pct(bestNr.withoutRepeats.hrAt10)}.` : '.'),
      );
    }
    lines.push(
      `- **Next category, ${set.name}** (${nc.users} users): the right category is in the model's top 10 ` +
        `${pct(nc.hrAt10)} of the time (NDCG@10 ${f3(nc.ndcgAt10)})` +
        (best
          ? `; best baseline ${best.method} ${pct(best.all.hrAt10)} (NDCG@10 ${f3(best.all.ndcgAt10)})`
          : '') +
        (nc.withoutRepeats && bestNr
          ? `. Without in-session repeats: model ${pct(nc.withoutRepeats.hrAt10)}, best baseline ${bestNr.method} ${pct(bestNr.withoutRepeats.hrAt10)}.`
          : '.'),
    );
  }
  lines.push(
    '',
    `| check | result |`,
    `| --- | --- |`,
    `| beats every baseline on F1, simulated, at calibrated thresholds | ${yesNo(v.simBeatsAllOnF1)} |`,
    `| lower false-alarm rate than top-category-changed at equal or better recall, real | ${yesNo(v.realLowerFalseAlarmsThanTopCategory)} |`,
  );
  return lines;
}

function migrationTable(set: SetReport): string[] {
  const head =
    set.kind === 'simulated'
      ? [
          '| method | parameter | precision | recall | recall ≤ 48 h / 50 events | recall, detectable | F1 | false alarms / user-day | delay p50 (events) | delay p90 | alerts / 1k events |',
          '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
        ]
      : [
          '| method | parameter | recall (movers alerted in 2nd half) | recall ≤ 48 h / 50 events | recall, detectable | false-alarm rate (stable users alerted) | alerts / 1k events | delay p50 (events) | delay p90 | precision | F1 |',
          '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
        ];
  const rows = set.migration.methods.map((m) => {
    const s = m.atCalibrated;
    // Absent in reports written before the intervals existed.
    const ci = (m as Partial<MethodResult>).intervals;
    const name = m === ours(set) ? `**${m.method}**` : m.method;
    return set.kind === 'simulated'
      ? `| ${name} | ${m.paramName} ${m.calibratedParam} | ${pct(s.precision)} | ${pct(s.recall)} ${pctCi(ci?.recall)} | ${pct(s.recallWithinBound)} | ${pct(s.recallDetectable)} (${s.detectablePositives}) | ${f3(s.f1)} ${f3Ci(ci?.f1)} | ${s.falseAlarmsPerUserDay.toFixed(3)} | ${f1d(s.delayEventsP50)} | ${f1d(s.delayEventsP90)} | ${s.alertsPer1kEvents.toFixed(2)} |`
      : `| ${name} | ${m.paramName} ${m.calibratedParam} | ${pct(s.recall)} ${pctCi(ci?.recall)} | ${pct(s.recallWithinBound)} | ${pct(s.recallDetectable)} (${s.detectablePositives}) | ${pct(s.falseAlarmUserRate)} ${pctCi(ci?.stableAlertRate)} | ${s.alertsPer1kEvents.toFixed(2)} | ${f1d(s.delayEventsP50)} | ${f1d(s.delayEventsP90)} | ${pct(s.precision)} | ${f3(s.f1)} ${f3Ci(ci?.f1)} |`;
  });
  return [...head, ...rows];
}

/** Every method at each stable-alert budget (parameters chosen on the train users). */
function budgetTable(set: SetReport): string[] {
  const budgets = (set.migration as Partial<MigrationEval>).budgets ?? [];
  if (budgets.length === 0)
    return [
      'No matched budgets: the model metadata has no thresholds.operatingPoints (run make calibrate).',
      '',
    ];
  const methods = budgets[0]?.rows.map((r) => r.method) ?? [];
  const head = [
    `| method | ${budgets.map((b) => `param at ${pct(b.budget)} | recall | stable users alerted`).join(' | ')} |`,
    `| --- | ${budgets.map(() => '---: | ---: | ---:').join(' | ')} |`,
  ];
  const rows = methods.map((m) => {
    const cells = budgets.map((b) => {
      const r = b.rows.find((x) => x.method === m);
      if (!r) return '- | - | -';
      return `${r.param} | ${pct(r.score.recall)} ${pctCi(r.intervals.recall)} | ${pct(r.score.falseAlarmUserRate)} ${pctCi(r.intervals.stableAlertRate)}`;
    });
    return `| ${m} | ${cells.join(' | ')} |`;
  });
  const paired = budgets.flatMap((b) =>
    b.encoderAblation
      ? [
          `- at ${pct(b.budget)}: recall ${signedCi(b.encoderAblation.recall, 1, 100)} pt, F1 ${signedCi(b.encoderAblation.f1, 3)}, stable users alerted ${signedCi(b.encoderAblation.stableAlertRate, 1, 100)} pt`,
        ]
      : [],
  );
  const ablation =
    paired.length > 0
      ? ['', 'The encoder term, paired: ours minus categories only, users resampled in pairs.', '', ...paired]
      : [];
  return [...head, ...rows, ...ablation, ''];
}

const pmSd = (m: MeanSd, scale = 100, digits = 1): string =>
  `${(m.mean * scale).toFixed(digits)} ± ${(m.sd * scale).toFixed(digits)}`;

/** The simulated scenario over several seeds: mean ± sd at the calibrated parameters. */
function seedTable(s: SeedSpread | null): string[] {
  if (!s || s.seeds.length < 2) return [];
  return [
    `### ${s.scenario ?? 'Simulated'}: migrations over ${s.seeds.length} seeds (${s.seeds.join(', ')}), calibrated parameters, mean ± sd`,
    '',
    '| method | F1 | recall % | recall ≤ 48 h / 50 events % | precision % |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...s.methods.map(
      (m) =>
        `| ${m.method} | ${pmSd(m.f1, 1, 3)} | ${pmSd(m.recall)} | ${pmSd(m.recallWithinBound)} | ${pmSd(m.precision)} |`,
    ),
    '',
  ];
}

/** The real-data label against itself with each user's events shuffled in time. */
function nullCheckLines(n: NullCheck | null): string[] {
  if (!n) return [];
  return [
    '### Null check of the real-data label',
    '',
    `Each user's events keep their times but their contents are shuffled among them (no real migration is left; breadth and activity stay). Movers by the label: ${n.movers} → ${n.shuffledMovers} after shuffling; stable: ${n.stable} → ${n.shuffledStable}. Whatever share of movers survives is the label measuring how broad a user is, not a move.`,
    '',
    '| method (calibrated) | movers alerted | stable alerted | movers alerted, shuffled | stable alerted, shuffled |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...n.methods.map(
      (m) =>
        `| ${m.method} | ${pct(m.recall)} | ${pct(m.stableAlertRate)} | ${pct(m.shuffledRecall)} | ${pct(m.shuffledStableAlertRate)} |`,
    ),
    '',
  ];
}

function sweepTable(m: MethodResult): string[] {
  return [
    `| ${m.paramName} | precision | recall | F1 | stable users alerted | alerts / 1k events |`,
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
    ...m.sweep.map(
      (p) =>
        `| ${p.param}${p.param === m.calibratedParam ? ' (calibrated)' : ''} | ${pct(p.score.precision)} | ${pct(p.score.recall)} | ${f3(p.score.f1)} | ${pct(p.score.falseAlarmUserRate)} | ${p.score.alertsPer1kEvents.toFixed(2)} |`,
    ),
  ];
}

function churnTable(c: ChurnEval, withAlerts = true): string[] {
  const cal = (c as Partial<ChurnEval>).calibration;
  return [
    `Label: ${c.label}. ${c.scoringPoints} scoring points of ${c.users ?? '?'} users (every user with state, every ${c.checkpointEveryMs / 3_600_000} h of event time), ${c.positives} positive.`,
    '',
    '| score | ROC AUC [95 % CI, users resampled] | between users (same checkpoint) | within users | PR AUC |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...c.methods.map(
      (m) =>
        `| ${m.method} | ${f3(m.rocAuc)} ${f3Ci(m.rocAucInterval)} | ${f3(m.betweenUsersAuc ?? NaN)} | ${f3(m.withinUsersAuc ?? NaN)} | ${f3(m.prAuc)} |`,
    ),
    `| (positive rate: PR AUC of a random score) | 0.500 | | | ${f3(c.positives / Math.max(1, c.scoringPoints))} |`,
    ...(c.alertsPer1kUserDays && withAlerts
      ? [
          '',
          `Churn alerts the replay raised (ChurnRisk RAISED at the configured level thresholds), over ${(c.userDays ?? 0).toFixed(0)} user-days:`,
          '',
          '| level | alerts | per 1,000 users per day |',
          '| --- | ---: | ---: |',
          ...c.alertsPer1kUserDays.map((x) => `| ${x.level} | ${x.alerts} | ${x.per1kUserDays.toFixed(1)} |`),
        ]
      : []),
    ...(cal
      ? [
          '',
          `Our churn risk read as a probability of the label: Brier score ${f3(cal.brier)} (a constant at the positive rate scores ${f3((c.positives / Math.max(1, c.scoringPoints)) * (1 - c.positives / Math.max(1, c.scoringPoints)))}). Reliability:`,
          '',
          '| predicted | points | mean predicted | observed rate |',
          '| --- | ---: | ---: | ---: |',
          ...cal.bins
            .filter((b) => b.points > 0)
            .map(
              (b) =>
                `| ${b.from.toFixed(1)}–${b.to.toFixed(1)} | ${b.points} | ${f3(b.meanPredicted)} | ${f3(b.observedRate)} |`,
            ),
        ]
      : []),
  ];
}

function baselineCalibrationLines(report: EvalReport): string[] {
  const c = report.baselineCalibration;
  if (!c) return [];
  return [
    "- Stable train users alerted at each baseline's calibrated parameter: " +
      Object.entries(c)
        .map(
          ([k, v]) =>
            `${k} ${pct(v.stableAlertRate)}${v.targetMet ? '' : ' (the 10 % target is out of reach on its grid: its least sensitive setting is used)'}`,
        )
        .join('; ') +
      '.',
  ];
}

export function renderReport(report: EvalReport): string {
  const d = report.drift;
  const out: string[] = [
    '# Offline evaluation of interest-drift',
    '',
    `Model \`${report.modelVersion}\`; drift detector enter ${d.enterThreshold} / exit ${d.exitThreshold}, ` +
      `${d.minEvidenceEvents} events of evidence, cooldown ${d.cooldownMs / 3_600_000} h. Produced by \`make eval\` ` +
      '(the same core code and ONNX model as the live processor, replayed in event time without Kafka).',
    '',
    '## Summary',
    '',
    ...summary(report),
    '',
    '![Simulated: F1 against the threshold](sim-f1-vs-threshold.png)',
    '',
    ...[report.simSeeds ?? []].flat().flatMap(seedTable),
    '## How to read this',
    '',
    '- **Real data** has no labels, so the truth is measured from the data: a user is a *mover* when the top-3 categories of the first half of their history and of the second half share nothing, *stable* when they share at least two; users in between or with fewer than 20 events are left out. A mover counts as caught when an alert falls in their second half. Delays are counted from the change point located as the split (within the middle half) that maximises the Jensen–Shannon divergence between categories before and after.',
    '- **Simulated data** (the seeded simulator calibrated on the Taobao sample, src/sim) injects migrations to disjoint home categories at known moments, users who go quiet, and stable users. An alert is a true positive when it is the first on a migrating user at or after the switch; every other alert is a false alarm.',
    '- **Baselines** see the raw category stream and run through the same gating function as our detector (core/drift-detector.ts: no alert before ' +
      "the minimum history, 12 consecutive events of evidence with hysteresis, cooldown, and a rebase of the baseline's reference when it fires and when the cooldown ends). Page–Hinkley and ADWIN watch each event's \"surprise\" (1 − its category's share of the user's history so far). " +
      `Each baseline's parameter was calibrated like ours, on the train users, to alert on at most 10 % of stable users (${report.baselineParamsSource}).`,
    ...baselineCalibrationLines(report),
    "- **Churn**: at checkpoints in event time every known user is scored. Our score is the service's churn risk at that moment (the learned hazard of src/core/churn-hazard.ts, trained on checkpoints of the train users, chosen on the valid users); the baselines are idle time alone, events per day alone, a logistic regression on recency/frequency fitted by the same trainer on the same train users, and the score the service used before (the encoder's inactivity head grown by idle time).",
    '',
  ];
  for (const set of report.sets) {
    out.push(
      `## ${set.name}`,
      '',
      `Source: ${set.source}; ${set.users} users, ${set.events} events; ${set.positives} ${set.kind === 'real' ? 'movers' : 'migrating users'}, ${set.negatives} negatives.` +
        (set.kind === 'real'
          ? ` Small groups: one stable user is ${pct(1 / Math.max(1, set.negatives))} of the false-alarm rate, one mover ${pct(1 / Math.max(1, set.positives))} of recall.`
          : ''),
      '',
      '### Interest migration at calibrated parameters',
      '',
      ...migrationTable(set),
      '',
      'Brackets: 95 % user-level bootstrap intervals (1,000 resamples of the scored users, src/eval/bootstrap.ts). Recall ≤ 48 h / 50 events counts a catch only within 48 h of event time or 50 events of the change; "detectable" is recall among movers with at least 20 events after the change (their number in brackets).',
      '',
      ...nullCheckLines(set.nullCheck ?? null),
      '### Interest migration at matched false-alarm budgets',
      '',
      "Each method, the ablations of our detector included, at the parameter that alerts at most 5 % and at most 10 % of the stable TRAIN users (make calibrate); every baseline runs with the detector's gating (minimum history, 12 events of evidence with hysteresis, cooldown, rebase). The stable-alert rate reached on this set is shown beside the recall: compare recall only where it is close to the budget.",
      '',
      ...budgetTable(set),
    );
    if (set.kind === 'real') {
      const tc = topCategoryAtOurRecall(set);
      out.push(
        tc
          ? `Top-category-changed at equal or better recall (best point of its sweep): recall ${pct(tc.recall)}, false-alarm rate ${pct(tc.falseAlarmUserRate)}.`
          : 'No top-category-changed setting reaches our recall.',
        '',
      );
    }
    out.push(
      `### Threshold sweep of our detector (${set.kind})`,
      '',
      ...sweepTable(ours(set)),
      '',
      `![${set.kind === 'real' ? 'Recall against false alarms' : 'Precision against recall'} of every method across its parameter](${plotPrefix(set)}-tradeoff.png) ![Precision-recall of every method, with its points at the 5 % and 10 % budgets](${plotPrefix(set)}-pr.png)`,
      '',
      '### Churn risk',
      '',
      ...churnTable(set.churn),
      '',
      ...(set.churnLonger ? ['At a 48 h horizon:', '', ...churnTable(set.churnLonger, false), ''] : []),
      `![ROC curves](${plotPrefix(set)}-churn-roc.png) ![Reliability of our churn risk](${plotPrefix(set)}-churn-reliability.png)`,
      '',
    );
    if (set.nextCategory) {
      const me = report.reference.modelEval as {
        nextCategory?: Record<string, { 'hr@10': number; 'ndcg@10': number }>;
      } | null;
      const nc = set.nextCategory;
      const nr = (nc as Partial<NextCategoryEval>).withoutRepeats;
      const cell = (s: { hrAt10: number; ndcgAt10: number; positions: number } | undefined): string =>
        s ? `${f3(s.hrAt10)} | ${f3(s.ndcgAt10)} | ${s.positions}` : '- | - | -';
      out.push(
        '### Next category',
        '',
        'Every position t ≥ 1 of a user’s sequence; "without in-session repeats" leaves out targets that repeat the previous event’s category within 30 minutes. Baselines learn online from earlier events of this file only and may name categories outside the model’s vocabulary (the model scores those as misses).',
        '',
        '| method | HR@10 | NDCG@10 | positions | HR@10 without repeats | NDCG@10 without repeats | positions |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
        ...(nc.head
          ? [`| **${nc.head.method}** | ${cell(nc.head.all)} | ${cell(nc.head.withoutRepeats)} |`]
          : []),
        `| encoder alone, run here through onnxruntime-node | ${cell(nc)} | ${cell(nr)} |`,
        ...((nc as Partial<NextCategoryEval>).baselines ?? []).map(
          (b) => `| ${b.method} | ${cell(b.all)} | ${cell(b.withoutRepeats)} |`,
        ),
        ...Object.entries(me?.nextCategory ?? {})
          .filter(([, v]) => typeof (v as Partial<{ 'hr@10': number }> | null)?.['hr@10'] === 'number')
          .map(
            ([k, v]) =>
              `| ${k} (onnx/artifacts/metrics.json, make model-eval) | ${f3(v['hr@10'])} | ${f3(v['ndcg@10'])} | | | | |`,
          ),
        '',
      );
    }
  }
  if (report.sets.some((s) => s.kind === 'simulated'))
    out.push('![Detection delay after the switch, simulated](sim-delay.png)', '');
  return `${out.join('\n')}\n`;
}
